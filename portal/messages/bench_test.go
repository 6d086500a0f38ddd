package messages_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/auth/authtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/messages"
)

// BenchmarkInbox20000 reads an advisor's inbox (the 200 first of a
// region's 20,000 threads, unread first) and the header's unread count,
// on SQLite and, when configured, PostgreSQL.
func BenchmarkInbox20000(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			var db *database.DB
			if dialect == "sqlite" {
				db = dbtest.SQLite(b)
			} else {
				db = dbtest.Postgres(b)
			}
			e := newEnv(b, db)
			minna := e.person(auth.RoleAdvisor, "Minna Neuvoja", "", 4)
			res := e.person(auth.RoleResident, "Aino Asukas", "00940", 0)
			seed(b, db, res.ID, minna.ID, 20000)
			ctx := authtest.WithActor(context.Background(), minna)
			u, err := auth.NewUsers(db.Gorm).ByID(ctx, minna.ID)
			if err != nil {
				b.Fatal(err)
			}
			b.Run("inbox", func(b *testing.B) {
				for b.Loop() {
					rows, err := e.svc.StaffThreads(ctx, messages.InboxAll, 200)
					if err != nil || len(rows) != 200 {
						b.Fatalf("%d rows, %v", len(rows), err)
					}
				}
			})
			b.Run("unread-count", func(b *testing.B) {
				for b.Loop() {
					if n, err := e.svc.UnreadForStaff(ctx, u); err != nil || n == 0 {
						b.Fatalf("%d, %v", n, err)
					}
				}
			})
		})
	}
}

// seed writes n threads of the region east, each with a resident message
// and a staff answer; every tenth has an unread resident message.
func seed(b *testing.B, db *database.DB, resident, advisor int64, n int) {
	b.Helper()
	now := time.Now().UTC()
	for start := 0; start < n; start += 500 {
		tx := db.Gorm.Begin()
		for i := start; i < start+500 && i < n; i++ {
			at := now.Add(-time.Duration(i) * time.Minute)
			th := map[string]any{"resident_id": resident, "region_id": 4, "subject": fmt.Sprintf("Aihe %d", i), "origin": "resident", "created_at": at, "updated_at": at}
			if err := tx.Table("message_threads").Create(th).Error; err != nil {
				b.Fatal(err)
			}
			var id int64
			if err := tx.Raw("SELECT MAX(id) FROM message_threads").Scan(&id).Error; err != nil {
				b.Fatal(err)
			}
			var read any = at
			if i%10 == 0 {
				read = nil
			}
			for _, m := range []map[string]any{
				{"thread_id": id, "author_id": resident, "from_staff": false, "body": "Kysymys", "created_at": at, "read_at": read},
				{"thread_id": id, "author_id": advisor, "from_staff": true, "body": "Vastaus", "created_at": at, "read_at": at},
			} {
				if err := tx.Table("messages").Create(m).Error; err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := tx.Commit().Error; err != nil {
			b.Fatal(err)
		}
	}
}
