package sqlstore_test

// runChild runs the role named by the child environment variable and
// returns the exit code.
func runChild(role string) int { return 2 }
