package migrations_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/pressly/goose/v3"
	"gorm.io/gorm"

	"github.com/asumisneuvonta/asumisneuvonta-portal/migrations"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

// seqRow is a conversation's chat_seqs row, by the conversation's guest id.
type seqRow struct {
	LastSeq int64
	Closed  bool
	Advisor *int64
}

// Version 20 moves each conversation's message counter into chat_seqs. An
// upgraded database keeps every conversation's last seq, with the copies of
// the rules (closed, the advisor) that the chat's writes check; the
// triggers keep those copies in step afterwards; and going back down puts
// the seq back where it was.
func TestChatSeqsUpgradeKeepsEveryCount(t *testing.T) {
	atVersion(t, 19, func(t *testing.T, ctx context.Context, p *goose.Provider, g *gorm.DB, exec execFunc) {
		exec(`INSERT INTO users (issuer, subject, role, created_at, updated_at)
			VALUES ('i', 'a1', 'advisor', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), ('i', 'a2', 'advisor', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`)
		var ids []int64
		if err := g.Raw("SELECT id FROM users ORDER BY id").Scan(&ids).Error; err != nil || len(ids) != 2 {
			t.Fatalf("users %v: %v", ids, err)
		}
		a1, a2 := ids[0], ids[1]
		const old = `INSERT INTO chat_conversations (guest_id, topic, lang, status, advisor_id, last_seq, created_at, queued_at)
			VALUES (?, 'general', 'fi', ?, ?, ?, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`
		exec(old, "g1", "active", a1, 7)
		exec(old, "g2", "closed", nil, 3)

		if _, err := p.UpTo(ctx, 20); err != nil {
			t.Fatal(err)
		}
		want := map[string]seqRow{"g1": {7, false, &a1}, "g2": {3, true, nil}}
		checkSeqs(t, g, want)
		if err := g.Exec("SELECT last_seq FROM chat_conversations").Error; err == nil {
			t.Error("chat_conversations still has last_seq: two places would hold the count")
		}

		// A new conversation gets its counter at 0; an accept, a
		// transfer and a close change the copies; nothing else does.
		exec(`INSERT INTO chat_conversations (guest_id, topic, lang, status, created_at, queued_at)
			VALUES ('g3', 'general', 'fi', 'queued', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`)
		want["g3"] = seqRow{0, false, nil}
		checkSeqs(t, g, want)
		exec("UPDATE chat_conversations SET advisor_id = ?, status = 'active' WHERE guest_id = 'g3'", a2)
		exec("UPDATE chat_conversations SET advisor_id = ? WHERE guest_id = 'g1'", a2)
		exec("UPDATE chat_conversations SET outcome = 'advice_given', topic = 'eviction' WHERE guest_id = 'g2'")
		exec("UPDATE chat_seqs SET last_seq = 9 WHERE conversation_id = (SELECT id FROM chat_conversations WHERE guest_id = 'g1')")
		want["g1"], want["g3"] = seqRow{9, false, &a2}, seqRow{0, false, &a2}
		checkSeqs(t, g, want)
		exec("UPDATE chat_conversations SET status = 'closed' WHERE guest_id = 'g3'")
		want["g3"] = seqRow{0, true, &a2}
		checkSeqs(t, g, want)

		if _, err := p.DownTo(ctx, 19); err != nil {
			t.Fatal(err)
		}
		var back []struct {
			GuestID string
			LastSeq int64
		}
		if err := g.Raw("SELECT guest_id, last_seq FROM chat_conversations ORDER BY guest_id").Scan(&back).Error; err != nil {
			t.Fatal(err)
		}
		if len(back) != 3 || back[0].LastSeq != 9 || back[1].LastSeq != 3 || back[2].LastSeq != 0 {
			t.Errorf("last_seq after going down: %+v; want g1 9, g2 3, g3 0", back)
		}
		if _, err := p.UpTo(ctx, 20); err != nil {
			t.Fatalf("up again after down: %v", err)
		}
		checkSeqs(t, g, map[string]seqRow{"g1": {9, false, &a2}, "g2": {3, true, nil}, "g3": {0, true, &a2}})
	})
}

// execFunc runs a statement and fails the test if it fails.
type execFunc func(q string, args ...any)

// atVersion runs test on SQLite and on PostgreSQL, each a new database
// migrated up to version.
func atVersion(t *testing.T, version int64, test func(t *testing.T, ctx context.Context, p *goose.Provider, g *gorm.DB, exec execFunc)) {
	for name, url := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "m.db") },
		"postgres": func(t *testing.T) string { return dbtest.PostgresSchemaURL(t) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, url(t), false)
			p, err := migrations.Provider(db.SQL, db.Dialect)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.UpTo(ctx, version); err != nil {
				t.Fatal(err)
			}
			g := db.Gorm.WithContext(ctx)
			test(t, ctx, p, g, func(q string, args ...any) {
				t.Helper()
				if err := g.Exec(q, args...).Error; err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			})
		})
	}
}

func checkSeqs(t *testing.T, g *gorm.DB, want map[string]seqRow) {
	t.Helper()
	var rows []struct {
		GuestID string
		LastSeq int64
		Closed  bool
		Advisor *int64
	}
	err := g.Raw(`SELECT c.guest_id, s.last_seq, s.closed, s.advisor FROM chat_seqs s
		JOIN chat_conversations c ON c.id = s.conversation_id`).Scan(&rows).Error
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]seqRow{}
	for _, r := range rows {
		got[r.GuestID] = seqRow{r.LastSeq, r.Closed, r.Advisor}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("chat_seqs: %s; want %s", show(got), show(want))
	}
}

func show(m map[string]seqRow) string {
	s := ""
	for k, r := range m {
		adv := "-"
		if r.Advisor != nil {
			adv = fmt.Sprint(*r.Advisor)
		}
		s += fmt.Sprintf("%s{%d closed=%v advisor=%s} ", k, r.LastSeq, r.Closed, adv)
	}
	return s
}

// Version 21 drops chat_seqs: a conversation's last seq is the highest seq
// of its messages. Going back down rebuilds the counters from the messages,
// with the copies of the rules and the triggers that keep them.
func TestChatSeqsDropKeepsCountsInTheMessages(t *testing.T) {
	atVersion(t, 20, func(t *testing.T, ctx context.Context, p *goose.Provider, g *gorm.DB, exec execFunc) {
		exec(`INSERT INTO users (issuer, subject, role, created_at, updated_at)
			VALUES ('i', 'a1', 'advisor', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`)
		var a1 int64
		if err := g.Raw("SELECT id FROM users").Scan(&a1).Error; err != nil {
			t.Fatal(err)
		}
		const conv = `INSERT INTO chat_conversations (guest_id, topic, lang, status, advisor_id, created_at, queued_at)
			VALUES (?, 'general', 'fi', ?, ?, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`
		exec(conv, "g1", "active", a1)
		exec(conv, "g2", "closed", nil)
		exec(conv, "g3", "queued", nil)
		for seq, guest := range []string{"g1", "g1", "g2", "g1"} {
			exec(`INSERT INTO chat_messages (conversation_id, seq, kind, sender_role, client_id, event, body, created_at)
				SELECT id, (SELECT COUNT(*) FROM chat_messages m WHERE m.conversation_id = c.id) + 1,
					'text', 'resident', ?, '', 'hello', CURRENT_TIMESTAMP
				FROM chat_conversations c WHERE guest_id = ?`, fmt.Sprint("m", seq), guest)
		}
		exec("UPDATE chat_seqs SET last_seq = (SELECT COUNT(*) FROM chat_messages m WHERE m.conversation_id = chat_seqs.conversation_id)")

		if _, err := p.UpTo(ctx, 21); err != nil {
			t.Fatal(err)
		}
		if err := g.Exec("SELECT 1 FROM chat_seqs").Error; err == nil {
			t.Error("chat_seqs is still there: two places would hold the count")
		}
		exec(conv, "g4", "queued", nil) // without the triggers' table

		if _, err := p.DownTo(ctx, 20); err != nil {
			t.Fatal(err)
		}
		checkSeqs(t, g, map[string]seqRow{"g1": {3, false, &a1}, "g2": {1, true, nil}, "g3": {0, false, nil}, "g4": {0, false, nil}})
		exec(conv, "g5", "queued", nil)
		exec("UPDATE chat_conversations SET status = 'closed' WHERE guest_id = 'g1'")
		checkSeqs(t, g, map[string]seqRow{"g1": {3, true, &a1}, "g2": {1, true, nil}, "g3": {0, false, nil},
			"g4": {0, false, nil}, "g5": {0, false, nil}})
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("up again after down: %v", err)
		}
	})
}
