package chat

import (
	"context"
	"fmt"
	"testing"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

// A group-commit lane on PostgreSQL keeps a connection of its own with
// generic plans; when that connection dies, the batch is stored on a new
// one, once, and the connection goes back to the pool as it came.
func TestPGLaneSurvivesALostConnectionAndCleansUp(t *testing.T) {
	ctx := context.Background()
	url := dbtest.PostgresSchemaURL(t)
	db := dbtest.Open(t, url, true)
	admin := dbtest.Open(t, url, false)
	bus := newMemoryBus()
	e := newEnv(t, db, func(*testing.T) BrokerFactory { return bus.Factory() })
	// The instance's lanes keep a connection each; the test's lane gets
	// the pool's only other one.
	db.SQL.SetMaxOpenConns(e.lim.Writers + 1)
	in := e.instance(t)
	waitFor(t, "the instance's lanes to hold their connections", func() bool { return ownsAll(in) })
	resident := e.user(t, auth.RoleResident, "Aino")
	advisor := e.user(t, auth.RoleAdvisor, "Anna")
	cv := e.activeConversation(t, in, resident, advisor)
	store := in.svc.store

	lane, ok := store.lane().(*pgLane)
	if !ok {
		t.Fatalf("lane on PostgreSQL is %T, want *pgLane", store.lane())
	}
	draft := func(cid string) []Draft {
		return []Draft{{ConversationID: cv.ID, Kind: KindText, SenderRole: RoleResident, SenderID: resident.ID, ClientID: cid, Body: cid}}
	}
	if r := lane.Append(ctx, draft("first")); r[0].Err != nil {
		t.Fatalf("first append: %v", r[0].Err)
	}
	var mode string
	if err := lane.conn.QueryRowContext(ctx, "SHOW plan_cache_mode").Scan(&mode); err != nil || mode != "force_generic_plan" {
		t.Fatalf("lane plan_cache_mode = %q, %v", mode, err)
	}

	// Kill the lane's backend, as a PostgreSQL restart or a proxy would.
	var pid int
	if err := lane.conn.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.SQL.ExecContext(ctx, fmt.Sprintf("SELECT pg_terminate_backend(%d)", pid)); err != nil {
		t.Fatal(err)
	}
	r := lane.Append(ctx, draft("second"))
	if r[0].Err != nil || r[0].Dup || r[0].Message.Seq == 0 {
		t.Fatalf("append after the connection died = %+v", r[0])
	}
	lane.close()
	if err := db.SQL.QueryRowContext(ctx, "SHOW plan_cache_mode").Scan(&mode); err != nil || mode != "auto" {
		t.Fatalf("pool connection after the lane closed: plan_cache_mode = %q, %v; want auto", mode, err)
	}
	msgs, err := store.After(ctx, cv.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		if m.ClientID == "second" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the batch was stored %d times, want once", n)
	}

}
