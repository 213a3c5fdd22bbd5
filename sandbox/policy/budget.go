package policy

// The validator simulates some of what the shell will do (variable
// values, brace expansion, scripts a command writes and then runs). Each
// simulated byte is paid from a budget proportional to the command's
// length, so validation stays linear in the input however the text
// multiplies itself (a=x; a=$a$a; … doubles a value per statement).
const (
	// budgetPerByte and budgetBase size the budget: a command of n bytes
	// may make the validator produce budgetPerByte*n + budgetBase bytes
	// of simulated text.
	budgetPerByte = 4
	budgetBase    = 4 << 10
)

func newBudget(command string) int { return budgetPerByte*len(command) + budgetBase }

// spend takes n bytes from the budget. When the budget cannot pay, the
// validator stops simulating (the text becomes unknown) and the command
// is refused once the statement has been judged: a command that expands
// to many times its own size is not one a person or a model means.
func (c *checker) spend(n int) bool {
	if n <= c.budget {
		c.budget -= n
		return true
	}
	c.overBudget = true
	return false
}

func (c *checker) budgetRefusal() *Refusal {
	rule := RuleDynamic
	if !c.p.Has(rule) {
		rule = RuleSyntax
	}
	if c.braceOverflow {
		return refuse(rule, "a brace expansion makes more than %d words, past what the check expands, and not only numbers; list fewer, or split the command", maxBraceWords)
	}
	return refuse(rule, "the command makes its own text grow (variables that double, repeated expansions) to more than %d times its length, which cannot be checked; write the values out literally", budgetPerByte)
}
