package bus

import "strings"

// The task API on an owner's own subjects. nats-server lets a client
// credential publish only under its own owner token, and the bridge (which
// checks tokens itself) under any: the subject tells the kernel who asks,
// so no body a client writes can say it.

// AsAPI is the prefix of owner o's task API subjects:
// amf.api.as.<owner>, e.g. amf.api.as.nats:UABC….
func (n Names) AsAPI(o Owner) string { return n.API() + ".as." + string(o) }

// As is owner o's subject of one task API operation:
// amf.api.as.<owner>.<op> (submit, status, cancel, list, schedules.get …).
// Operations with a grant token append it: As(o, "submit.ops").
func (n Names) As(o Owner, op string) string { return n.AsAPI(o) + "." + op }

// SubmitAs is where owner o submits a task asking for policy:
// amf.api.as.<owner>.submit[.<policy>].
func (n Names) SubmitAs(o Owner, policy string) string {
	if policy == "" || policy == BasePolicy {
		return n.As(o, "submit")
	}
	return n.As(o, "submit."+policy)
}

// OwnerOfSubject reads the owner of an amf.api.as.<owner>.… subject and
// the operation after it; ok is false for any other subject (an unowned
// one, amf.api.<op>, which only admins, the bridge and read-all
// credentials may publish on).
func (n Names) OwnerOfSubject(subject string) (o Owner, op string, ok bool) {
	rest, found := strings.CutPrefix(subject, n.API()+".as.")
	if !found {
		return "", "", false
	}
	tok, op, _ := strings.Cut(rest, ".")
	o = Owner(tok)
	if o == "" || !o.Valid() {
		return "", "", false
	}
	return o, op, true
}

// ListTasks is the unowned subject that lists every owner's tasks:
// amf.api.list. An owner lists its own on As(o, "list").
func (n Names) ListTasks() string { return n.API() + ".list" }
