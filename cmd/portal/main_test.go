package main

import (
	"fmt"
	"os"
	"testing"
)

// TestMain runs the tests and ends with one line naming what skipped
// browser tests need. Started by the fault suite as its child, this binary
// is the portal instead.
func TestMain(m *testing.M) {
	if os.Getenv(faultsChildEnv) != "" {
		os.Exit(runFaultsChild())
	}
	code := m.Run()
	if line := skipped.summary(); line != "" {
		fmt.Println(line)
	}
	os.Exit(code)
}
