package chat

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
)

// appendPGSQL is Append for PostgreSQL in one statement, so one round trip
// and one commit. It does what appendTx does: read each conversation's
// rules and last seq, find resent client ids, number the new messages
// after the last seq, insert them, and report a verdict per draft. It
// takes no lock. Whoever else stores the same seq meanwhile, a lane (see
// pgLane) or a close or transfer (Store.change), makes the primary key
// refuse one of the two, and the one refused tries again on what is
// stored now: no message is stored after a change that refuses it.
const appendPGSQL = `
WITH input AS (
  SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[])
    AS t(conv, ord, kind, role, sender, name, cid, event, body)
), convs AS (
  SELECT c.id, c.status = 'closed' AS closed, c.advisor_id AS advisor,
    COALESCE((SELECT max(m.seq) FROM chat_messages m WHERE m.conversation_id = c.id), 0) AS last_seq
  FROM chat_conversations c WHERE c.id = ANY($1::bigint[])
), prev AS (
  SELECT m.conversation_id, m.sender_role, m.client_id, m.seq, m.created_at FROM chat_messages m
  JOIN (SELECT DISTINCT conv, role, cid FROM input WHERE cid <> '') k
    ON m.conversation_id = k.conv AND m.sender_role = k.role AND m.client_id = k.cid
  WHERE m.client_id <> ''
), firsts AS (
  SELECT DISTINCT ON (conv, role, cid) ord FROM input WHERE cid <> '' ORDER BY conv, role, cid, ord
), verdict AS (
  SELECT i.*, p.seq AS prev_seq, p.created_at AS prev_at, l.last_seq,
    CASE
      WHEN l.id IS NULL THEN 'not_found'
      WHEN p.seq IS NOT NULL THEN 'dup'
      WHEN i.cid <> '' AND f.ord IS NULL THEN 'dup_batch'
      WHEN l.closed THEN 'closed'
      WHEN i.role = 'advisor' AND (l.advisor IS NULL OR l.advisor <> i.sender) THEN 'forbidden'
      ELSE 'ok'
    END AS v
  FROM input i
  LEFT JOIN convs l ON l.id = i.conv
  LEFT JOIN prev p ON p.conversation_id = i.conv AND p.sender_role = i.role AND p.client_id = i.cid
  LEFT JOIN firsts f ON f.ord = i.ord
), numbered AS (
  SELECT v.ord, v.conv, v.kind, v.role, v.sender, v.name, v.cid, v.event, v.body,
    v.last_seq + row_number() OVER (PARTITION BY v.conv ORDER BY v.ord) AS seq
  FROM verdict v WHERE v.v = 'ok'
), ins AS (
  INSERT INTO chat_messages (conversation_id, seq, kind, sender_role, sender_id, sender_name, client_id, event, body, created_at)
  SELECT conv, seq, kind, role, NULLIF(sender, 0), name, cid, event, body, $10 FROM numbered
  RETURNING 1
)
SELECT v.ord, v.v, COALESCE(n.seq, v.prev_seq, 0), COALESCE(v.prev_at, $10)
FROM verdict v LEFT JOIN numbered n ON n.ord = v.ord
ORDER BY v.ord`

// storeAttempts bounds how often a statement or a change that lost its
// seq to another writer runs again. Each loss means a message of the
// conversation was stored meanwhile, so only a conversation far busier
// than people type loses this often in a row.
const storeAttempts = 20

// isUniqueViolation reports whether err is PostgreSQL refusing a row that
// a unique index already holds: a seq someone else stored, or a resent
// client id.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// querier is a pool or one connection of it.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// draftColumns is a batch of drafts as one array per column, for unnest.
type draftColumns struct {
	conv, sender                       []int64
	kind, role, name, cid, event, body []string
}

func columnsOf(drafts []Draft) draftColumns {
	n := len(drafts)
	c := draftColumns{conv: make([]int64, n), sender: make([]int64, n), kind: make([]string, n), role: make([]string, n),
		name: make([]string, n), cid: make([]string, n), event: make([]string, n), body: make([]string, n)}
	for i, d := range drafts {
		c.conv[i], c.kind[i], c.role[i], c.sender[i] = d.ConversationID, d.Kind, d.SenderRole, d.SenderID
		c.name[i], c.cid[i], c.event[i], c.body[i] = d.SenderName, d.ClientID, d.Event, d.Body
	}
	return c
}

func (s *Store) appendPG(ctx context.Context, q querier, drafts []Draft) ([]stored, error) {
	c := columnsOf(drafts)
	ord := make([]int32, len(drafts))
	for i := range ord {
		ord[i] = int32(i)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	for attempt := 1; ; attempt++ {
		rows, err := q.QueryContext(ctx, appendPGSQL, c.conv, ord, c.kind, c.role, c.sender, c.name, c.cid, c.event, c.body, now)
		if err == nil {
			var out []stored
			if out, err = s.readVerdicts(rows, drafts, now); err == nil {
				return out, nil
			}
		}
		// A seq or a resend stored by someone else after this statement's
		// snapshot: the next one sees it.
		if !isUniqueViolation(err) || attempt == storeAttempts {
			return nil, err
		}
	}
}

// insertPGSQL stores messages that a lane numbered (pgLane.numbered): a
// plain INSERT, which the primary key and the client-id index check.
const insertPGSQL = `
INSERT INTO chat_messages (conversation_id, seq, kind, sender_role, sender_id, sender_name, client_id, event, body, created_at)
SELECT conv, seq, kind, role, NULLIF(sender, 0), name, cid, event, body, $10
FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[])
  AS t(conv, seq, kind, role, sender, name, cid, event, body)`

// insertOnePGSQL is insertPGSQL for one message.
const insertOnePGSQL = `
INSERT INTO chat_messages (conversation_id, seq, kind, sender_role, sender_id, sender_name, client_id, event, body, created_at)
VALUES ($1, $2, $3, $4, NULLIF($5::bigint, 0), $6, $7, $8, $9, $10)`

// knownPGSQL reads what a lane remembers of conversations: the rules and
// the last seq, from one snapshot.
const knownPGSQL = `
SELECT c.id, c.status = 'closed', COALESCE(c.advisor_id, 0),
  COALESCE((SELECT max(m.seq) FROM chat_messages m WHERE m.conversation_id = c.id), 0)
FROM chat_conversations c WHERE c.id = ANY($1::bigint[])`

// scanOne reads the only row of rows into dest.
func scanOne(rows *sql.Rows, dest ...any) error {
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}

// appender stores a batch of drafts; see Store.Append.
type appender interface {
	Append(ctx context.Context, drafts []Draft) []stored
	close()
}

// lane returns what one group-commit goroutine stores through: on
// PostgreSQL a connection of its own, on SQLite the store.
func (s *Store) lane() appender {
	if s.dialect == database.Postgres {
		return &pgLane{store: s}
	}
	return s
}

func (s *Store) close() {}

// pgLane is a group-commit goroutine's own PostgreSQL connection. It runs
// its statements with generic plans: PostgreSQL would otherwise plan
// appendPGSQL anew on every call, since a plan for the exact arrays always
// looks cheaper, and planning it costs about twice what running it does.
// The plans depend only on the indexes, not on the batch. The connection
// also holds the lane's advisory lock while the lane owns its
// conversations in the cluster (forward.go).
//
// The lane remembers, for the conversations it stores, the last seq and
// who may write (known), and numbers their messages itself: storing them
// is then one plain INSERT, with no counter row to update. What it
// remembers goes out of date only by messages stored since: by a close or
// transfer (which stores its own message with the next seq), by Append,
// or by another instance's lane. Seqs have no gaps, so after any of them
// the seq the lane would take next is taken, the primary key refuses the
// lane's row, and the lane reads the conversation again. No message is
// stored after a change that refuses it, and none twice.
type pgLane struct {
	store *Store
	conn  *sql.Conn
	owned bool // the connection holds the lane's advisory lock
	known map[int64]known
}

// known is what a lane remembers of a conversation: its last seq, and who
// could write as of that seq.
type known struct {
	last    int64
	closed  bool
	advisor int64 // 0 for none
}

// maxKnown bounds how many conversations a lane remembers. Past it, the
// lane forgets them all and reads again those that go on.
const maxKnown = 4096

var _ claimer = (*pgLane)(nil)

func (l *pgLane) Append(ctx context.Context, drafts []Draft) []stored {
	out, err := l.append(ctx, drafts)
	if err != nil {
		return failAll(len(drafts), err)
	}
	return out
}

func (l *pgLane) connect(ctx context.Context) error {
	if l.conn != nil {
		return nil
	}
	conn, err := l.store.sql.Conn(ctx)
	if err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "SET plan_cache_mode = force_generic_plan"); err != nil {
		_ = conn.Close()
		return err
	}
	l.conn = conn
	return nil
}

func (l *pgLane) append(ctx context.Context, drafts []Draft) ([]stored, error) {
	for attempt := 0; ; attempt++ {
		if err := l.connect(ctx); err != nil {
			return nil, err
		}
		out, ok, err := l.numbered(ctx, drafts)
		if !ok && err == nil {
			out, err = l.store.appendPG(ctx, l.conn, drafts)
		}
		if err == nil || attempt > 0 || l.conn.PingContext(ctx) == nil {
			return out, err
		}
		// The connection is gone, and the lane's lock with it. The batch
		// goes again on a new one: if it was stored after all, its client
		// ids come back as resends.
		l.close()
	}
}

// numbered stores drafts numbered after what the lane remembers, and
// reports whether it did. It does not when memory cannot vouch for every
// draft (a conversation that does not exist, a draft the rules refuse, a
// client id twice in the batch or none at all), or when a unique index
// refuses a row: the seq is taken, or the draft is a resend. It then
// forgets the batch's conversations, and the batch goes through
// appendPGSQL, which reads them.
func (l *pgLane) numbered(ctx context.Context, drafts []Draft) ([]stored, bool, error) {
	if err := l.recall(ctx, drafts); err != nil {
		return nil, false, err
	}
	n := len(drafts)
	seqs := make([]int64, n)
	next := make(map[int64]int64, 1)
	for i := range drafts {
		d := &drafts[i]
		k, ok := l.known[d.ConversationID]
		if !ok || d.ClientID == "" || k.closed || d.SenderRole == RoleAdvisor && k.advisor != d.SenderID {
			l.forget(drafts)
			return nil, false, nil
		}
		for j := range i {
			if drafts[j].ConversationID == d.ConversationID && drafts[j].SenderRole == d.SenderRole && drafts[j].ClientID == d.ClientID {
				l.forget(drafts)
				return nil, false, nil
			}
		}
		if _, ok := next[d.ConversationID]; !ok {
			next[d.ConversationID] = k.last
		}
		next[d.ConversationID]++
		seqs[i] = next[d.ConversationID]
	}
	now := l.store.now().UTC().Truncate(time.Microsecond)
	var err error
	if n == 1 {
		d := &drafts[0]
		_, err = l.conn.ExecContext(ctx, insertOnePGSQL, d.ConversationID, seqs[0], d.Kind, d.SenderRole, d.SenderID,
			d.SenderName, d.ClientID, d.Event, d.Body, now)
	} else {
		c := columnsOf(drafts)
		_, err = l.conn.ExecContext(ctx, insertPGSQL, c.conv, seqs, c.kind, c.role, c.sender, c.name, c.cid, c.event, c.body, now)
	}
	if err != nil {
		l.forget(drafts)
		if isUniqueViolation(err) {
			return nil, false, nil
		}
		return nil, false, err
	}
	out := make([]stored, n)
	for i := range drafts {
		out[i] = stored{Message: drafts[i].message(seqs[i], now)}
	}
	for conv, last := range next {
		k := l.known[conv]
		k.last = last
		l.known[conv] = k
	}
	return out, true, nil
}

// recall reads the conversations of drafts that the lane does not
// remember. One that does not exist stays unknown.
func (l *pgLane) recall(ctx context.Context, drafts []Draft) error {
	var ids []int64
	for i := range drafts {
		id := drafts[i].ConversationID
		if _, ok := l.known[id]; !ok && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if l.known == nil || len(l.known)+len(ids) > maxKnown {
		l.known = make(map[int64]known)
	}
	rows, err := l.conn.QueryContext(ctx, knownPGSQL, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id int64
			k  known
		)
		if err := rows.Scan(&id, &k.closed, &k.advisor, &k.last); err != nil {
			return err
		}
		l.known[id] = k
	}
	return rows.Err()
}

// forget drops what the lane remembers of the drafts' conversations.
func (l *pgLane) forget(drafts []Draft) {
	for i := range drafts {
		delete(l.known, drafts[i].ConversationID)
	}
}

// laneLockSQL takes lane $1's advisory lock if no session holds it. The
// key includes the schema, so that portals sharing a database (tests, the
// benchmark) do not take each other's lanes.
const laneLockSQL = `SELECT pg_try_advisory_lock(hashtext(current_schema() || ':chat_lane:' || $1::int))`

func (l *pgLane) claim(ctx context.Context, lane int) bool {
	if l.owned {
		if l.conn.PingContext(ctx) == nil {
			return true
		}
		l.close() // the lock went with the connection
	}
	if err := l.connect(ctx); err != nil {
		return false
	}
	rows, err := l.conn.QueryContext(ctx, laneLockSQL, lane)
	if err == nil {
		err = scanOne(rows, &l.owned)
	}
	return err == nil && l.owned
}

// close gives the connection back to the pool as it found it, without the
// lane's lock.
func (l *pgLane) close() {
	if l.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := l.conn.ExecContext(ctx, "RESET plan_cache_mode")
	if err == nil && l.owned {
		_, err = l.conn.ExecContext(ctx, "SELECT pg_advisory_unlock_all()")
	}
	if err != nil {
		_ = l.conn.Raw(func(any) error { return driver.ErrBadConn }) // not reused
	}
	_ = l.conn.Close()
	l.conn, l.owned, l.known = nil, false, nil
}

type rowsScanner interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}

func (s *Store) readVerdicts(rows rowsScanner, drafts []Draft, now time.Time) ([]stored, error) {
	defer rows.Close()
	out := make([]stored, len(drafts))
	first := map[dupKey]int{}
	for rows.Next() {
		var (
			i       int
			verdict string
			seq     int64
			at      time.Time
		)
		if err := rows.Scan(&i, &verdict, &seq, &at); err != nil {
			return nil, fmt.Errorf("read verdict: %w", err)
		}
		d := &drafts[i]
		m := d.message(seq, at.UTC())
		switch verdict {
		case "ok":
			out[i] = stored{Message: m}
			if d.ClientID != "" {
				first[dupKey{d.ConversationID, d.SenderRole, d.ClientID}] = i
			}
		case "dup":
			out[i] = stored{Message: m, Dup: true}
		case "dup_batch":
			if j, ok := first[dupKey{d.ConversationID, d.SenderRole, d.ClientID}]; ok {
				out[i] = stored{Message: out[j].Message, Dup: true}
			} else {
				out[i].Err = errConflict // its first occurrence was refused
			}
		case "not_found":
			out[i].Err = errNotFound
		case "closed":
			out[i].Err = errClosed
		case "forbidden":
			out[i].Err = errForbidden
		default:
			return nil, fmt.Errorf("unknown verdict %q", verdict)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read verdicts: %w", err)
	}
	return out, nil
}

// message is the stored form of d with its seq and time.
func (d *Draft) message(seq int64, at time.Time) message {
	m := message{ConversationID: d.ConversationID, Seq: seq, Kind: d.Kind, SenderRole: d.SenderRole,
		SenderName: d.SenderName, ClientID: d.ClientID, Event: d.Event, Body: d.Body, CreatedAt: at}
	if d.SenderID != 0 {
		id := d.SenderID
		m.SenderID = &id
	}
	return m
}
