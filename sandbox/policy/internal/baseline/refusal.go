package baseline

import "fmt"

// Refusal is the error Run and Validate return when a command is not
// allowed to run. Rule names the policy rule; Reason is written for the
// model and the user alike, so it says what to do instead.
type Refusal struct {
	Rule   string
	Reason string
}

func (r *Refusal) Error() string { return fmt.Sprintf("refused by rule %s: %s", r.Rule, r.Reason) }
