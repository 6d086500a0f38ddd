package main

import (
	"fmt"
	"os"
	"testing"
)

// TestMain runs the tests and ends with one line naming what skipped
// browser tests need.
func TestMain(m *testing.M) {
	code := m.Run()
	if line := skipped.summary(); line != "" {
		fmt.Println(line)
	}
	os.Exit(code)
}
