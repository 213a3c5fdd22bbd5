package bus

import "strings"

// inboxPrefixBase starts every credential's own reply subjects. A
// non-admin credential may subscribe only under its own prefix, so it
// never sees the replies (API answers, KV watch traffic, pulled task
// bodies, its readers' event deliveries) that nats-server delivers to
// other connections' inboxes.
const inboxPrefixBase = "_INBOX_"

// inboxIDLen is how much of the user's public key names its inbox: 15
// base32 characters after the role letter are 75 random bits the
// authority chose, short enough to type after `nats --inbox-prefix`.
const inboxIDLen = 16

// CredentialID names the credential whose user public key is userKey in
// the subjects that are its own: its inbox prefix, the subject it
// publishes learned memories on (Names.LearnedBy), its owner
// (OwnerOfCredential).
func CredentialID(userKey string) string {
	if len(userKey) > inboxIDLen {
		return userKey[:inboxIDLen]
	}
	return userKey
}

// InboxPrefix is the inbox prefix of the credential whose user public key
// is userKey (nats.CustomInboxPrefix; `nats --inbox-prefix`).
func InboxPrefix(userKey string) string {
	return inboxPrefixBase + CredentialID(userKey)
}

// CredentialOfInbox is the credential id an inbox prefix names (the
// inverse of InboxPrefix), "" for a prefix that is not a credential's.
func CredentialOfInbox(prefix string) string {
	id, ok := strings.CutPrefix(prefix, inboxPrefixBase)
	if !ok || !ValidToken(id) {
		return ""
	}
	return id
}
