package chat

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
)

// appendPG is Append for PostgreSQL in one statement, so one round trip and
// one commit, and the conversations' row locks are held for that statement
// only: instances that write to the same conversations wait for each other
// as briefly as possible. It does what appendTx does: lock the
// conversations' counters (chat_seqs) in id order, find resent client ids,
// number the new messages after each counter's last_seq, insert them,
// advance last_seq, and report a verdict per draft. The rules come from
// the counter's copies of them, which a close or a transfer changes under
// the same row lock (migrations 00020).
const appendPGSQL = `
WITH input AS (
  SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[])
    AS t(conv, ord, kind, role, sender, name, cid, event, body)
), locked AS (
  SELECT conversation_id AS id, closed, advisor, last_seq FROM chat_seqs
  WHERE conversation_id = ANY($1::bigint[]) ORDER BY conversation_id FOR UPDATE
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
  LEFT JOIN locked l ON l.id = i.conv
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
), upd AS (
  UPDATE chat_seqs s SET last_seq = n.top
  FROM (SELECT conv, max(seq) AS top FROM numbered GROUP BY conv) n
  WHERE s.conversation_id = n.conv
  RETURNING 1
)
SELECT v.ord, v.v, COALESCE(n.seq, v.prev_seq, 0), COALESCE(v.prev_at, $10)
FROM verdict v LEFT JOIN numbered n ON n.ord = v.ord
ORDER BY v.ord`

// appendOnePGSQL is appendPGSQL for a batch of one draft, the usual batch
// while the chat is not busy: the statement has no arrays to unnest and
// nothing to sort or number, and one UPDATE both locks the conversation's
// counter and takes the next seq, so PostgreSQL spends about half the CPU
// on it. The UPDATE's conditions are the rules of mayWrite. It does not
// look for a resend first: a stored client id makes the INSERT fail on the
// unique index, which undoes the UPDATE too, and only then is the original
// read (resentPGSQL). Resends are rare, and the look-up was 7-12 % of the
// statement's CPU for every message (docs/BENCHMARKS.md). When nothing was
// stored and it was no resend, refusal tells why.
const appendOnePGSQL = `
WITH bump AS (
  UPDATE chat_seqs SET last_seq = last_seq + 1
  WHERE conversation_id = $1::bigint AND NOT closed AND ($2::text <> 'advisor' OR advisor = $4::bigint)
  RETURNING last_seq
)
INSERT INTO chat_messages (conversation_id, seq, kind, sender_role, sender_id, sender_name, client_id, event, body, created_at)
SELECT $1::bigint, last_seq, $5::text, $2::text, NULLIF($4::bigint, 0), $6::text, $3::text, $7::text, $8::text, $9::timestamptz
FROM bump
RETURNING seq`

// resentPGSQL finds the message a draft's client id already stored.
const resentPGSQL = `
SELECT seq, created_at FROM chat_messages
WHERE conversation_id = $1 AND sender_role = $2 AND client_id = $3 AND client_id <> ''`

// querier is a pool or one connection of it.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *Store) appendPG(ctx context.Context, q querier, drafts []Draft) ([]stored, error) {
	if len(drafts) == 1 {
		return s.appendOnePG(ctx, q, &drafts[0])
	}
	n := len(drafts)
	conv, sender := make([]int64, n), make([]int64, n)
	ord := make([]int32, n)
	kind, role, name, cid, event, body := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, d := range drafts {
		conv[i], ord[i], kind[i], role[i], sender[i] = d.ConversationID, int32(i), d.Kind, d.SenderRole, d.SenderID
		name[i], cid[i], event[i], body[i] = d.SenderName, d.ClientID, d.Event, d.Body
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	var out []stored
	for attempt := 0; ; attempt++ {
		rows, err := q.QueryContext(ctx, appendPGSQL, conv, ord, kind, role, sender, name, cid, event, body, now)
		if err == nil {
			out, err = s.readVerdicts(rows, drafts, now)
		}
		// A resend stored by another instance after this statement's
		// snapshot shows up as a unique violation: the retry sees it.
		var pe *pgconn.PgError
		if err != nil && errors.As(err, &pe) && pe.Code == "23505" && attempt < 3 {
			continue
		}
		return out, err
	}
}

func (s *Store) appendOnePG(ctx context.Context, q querier, d *Draft) ([]stored, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	for attempt := 0; ; attempt++ {
		var seq int64
		rows, err := q.QueryContext(ctx, appendOnePGSQL, d.ConversationID, d.SenderRole, d.ClientID, d.SenderID,
			d.Kind, d.SenderName, d.Event, d.Body, now)
		if err == nil {
			err = scanOne(rows, &seq)
		}
		if err == nil {
			return []stored{{Message: d.message(seq, now)}}, nil
		}
		var pe *pgconn.PgError
		conflict := errors.As(err, &pe) && pe.Code == "23505"
		if !conflict && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		// Nothing was stored: the draft is a resend, which gets the
		// original back whatever became of the conversation since, or
		// it is refused.
		if d.ClientID != "" {
			rows, err := q.QueryContext(ctx, resentPGSQL, d.ConversationID, d.SenderRole, d.ClientID)
			var at time.Time
			if err == nil {
				err = scanOne(rows, &seq, &at)
			}
			if err == nil {
				return []stored{{Message: d.message(seq, at.UTC()), Dup: true}}, nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return nil, err
			}
		}
		if conflict {
			if attempt < 3 {
				continue // what it collided with is not there to read: try again
			}
			return nil, pe
		}
		if err := s.refusal(ctx, q, d); err != nil {
			return []stored{{Err: err}}, nil
		}
		return nil, fmt.Errorf("conversation %d: message neither stored nor refused", d.ConversationID)
	}
}

// refusal tells why appendOnePGSQL stored nothing for a draft that was not
// a resend: the error mayWrite gives for the conversation as it is now.
func (s *Store) refusal(ctx context.Context, q querier, d *Draft) error {
	var (
		c       Conversation
		advisor sql.NullInt64
	)
	rows, err := q.QueryContext(ctx, "SELECT status, advisor_id FROM chat_conversations WHERE id = $1", d.ConversationID)
	if err == nil {
		err = scanOne(rows, &c.Status, &advisor)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	if advisor.Valid {
		c.AdvisorID = &advisor.Int64
	}
	return mayWrite(&c, d)
}

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

// pgLane is a group-commit goroutine's own PostgreSQL connection, which
// runs appendPGSQL with a generic plan. PostgreSQL would otherwise plan the
// statement anew on every call, since a plan for the exact arrays always
// looks cheaper, and planning it costs about twice what running it does.
// The statement's plan depends only on the indexes, not on the batch.
// The connection also holds the lane's advisory lock while the lane owns
// its conversations in the cluster (forward.go).
type pgLane struct {
	store *Store
	conn  *sql.Conn
	owned bool // the connection holds the lane's advisory lock
}

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
		out, err := l.store.appendPG(ctx, l.conn, drafts)
		if err == nil || attempt > 0 || l.conn.PingContext(ctx) == nil {
			return out, err
		}
		// The connection is gone, and the lane's lock with it. The batch
		// goes again on a new one: if it was stored after all, its client
		// ids come back as resends.
		l.close()
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
	l.conn, l.owned = nil, false
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
