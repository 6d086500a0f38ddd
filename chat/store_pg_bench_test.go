package chat

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

// BenchmarkLaneStorePG stores messages through one lane as the chat does,
// one transaction per batch, back to back, and reports the CPU that the
// lane's PostgreSQL backend spent per message (pg-µs/msg), read from /proc:
// PostgreSQL must run on this machine, and its CPU is the figure to compare
// between builds, since the time per message is mostly the commit's flush.
// "one" is the chat's usual batch while it is not busy; "4" and "16" the
// general statement, as in a burst and under load. Messages go round 50
// open conversations, which have historyMessages earlier messages.
//
//	PORTAL_TEST_DATABASE_URL=postgres://… go test -run '^$' -bench LaneStorePG -benchtime 20000x ./chat/
func BenchmarkLaneStorePG(b *testing.B) {
	const historyMessages = 20000
	for _, size := range []int{1, 4, 16} {
		name := strconv.Itoa(size)
		if size == 1 {
			name = "one"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			store := NewStore(dbtest.Postgres(b), nil)
			convs := make([]int64, 50)
			for i := range convs {
				cv := &Conversation{GuestID: fmt.Sprint("bench-", i), Topic: "general", Lang: "fi"}
				if err := store.NewConversation(ctx, cv); err != nil {
					b.Fatal(err)
				}
				convs[i] = cv.ID
			}
			// A table in service: without earlier messages the batch
			// statement's generic plan, made once per connection, looks for
			// resends by reading the whole table, and keeps doing so while
			// the table grows, until autovacuum analyzes it. In service the
			// table is large and the plan looks each one up in the index.
			var history []Draft
			for i := range historyMessages {
				history = append(history, Draft{ConversationID: convs[i%len(convs)], Kind: KindText,
					SenderRole: RoleResident, ClientID: fmt.Sprint("h", i), Body: "an earlier message"})
				if len(history) == 250 || i == historyMessages-1 {
					for _, r := range store.Append(ctx, history) {
						if r.Err != nil {
							b.Fatal(r.Err)
						}
					}
					history = history[:0]
				}
			}
			lane, ok := store.lane().(*pgLane)
			if !ok {
				b.Fatalf("lane on PostgreSQL is %T", store.lane())
			}
			defer lane.close()
			n := 0
			batch := make([]Draft, size)
			store1 := func() {
				for i := range batch {
					n++
					batch[i] = Draft{ConversationID: convs[n%len(convs)], Kind: KindText, SenderRole: RoleResident,
						SenderName: "Aino", ClientID: fmt.Sprint("c", n), Body: "a message of about the length a resident writes"}
				}
				for _, r := range lane.Append(ctx, batch) {
					if r.Err != nil || r.Dup {
						b.Fatalf("append: %+v", r)
					}
				}
			}
			// Statistics, as autovacuum keeps them in service, before the
			// lane's first statement plans.
			if _, err := store.sql.ExecContext(ctx, "ANALYZE chat_messages"); err != nil {
				b.Fatal(err)
			}
			for range 200 { // the connection, its plans, the tables' first pages
				store1()
			}
			var pid int
			rows, err := lane.conn.QueryContext(ctx, "SELECT pg_backend_pid()")
			if err == nil {
				err = scanOne(rows, &pid)
			}
			if err != nil {
				b.Fatal(err)
			}
			before := procCPU(b, pid)
			for b.Loop() {
				store1()
			}
			used := procCPU(b, pid) - before
			b.ReportMetric(used/float64(b.N*size), "pg-µs/msg")
		})
	}
}

// procCPU is the user and system CPU of a process so far, in µs, at the
// kernel's 100 ticks a second.
func procCPU(b *testing.B, pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatalf("PostgreSQL's backend is not on this machine: %v", err)
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("/proc/%d/stat: %q", pid, raw)
	}
	return (utime + stime) * 1e4
}
