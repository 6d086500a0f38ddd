package exchange

import "strings"

// AnswersText reads an application's answers back in words with t (a
// frontend translator's T): each step's title, then a line per answer, as
// the resident's data download shows them.
func AnswersText(t func(key string, args ...any) string, a *Application) string {
	var b strings.Builder
	for i, bl := range blocks(t, a.Answers()) {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(bl.Title + "\n")
		for _, r := range bl.Rows {
			b.WriteString(r.Label + ": " + r.Value + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}
