package chat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// Errors of the store. Handlers map them to error frames and pages.
var (
	errNotFound  = problem.E(problem.NotFound, msgNotFound)
	errForbidden = problem.E(problem.NotFound, msgNotFound) // the same answer as errNotFound: ids do not leak
	errClosed    = problem.E(problem.Conflict, msgConflict)
	errConflict  = problem.E(problem.Conflict, msgConflict)
	errCapacity  = problem.E(problem.Conflict, msgCapacity)
)

// Conversation statuses.
const (
	statusQueued = "queued"
	statusActive = "active"
	statusClosed = "closed"
)

// Sender roles of a message.
const (
	RoleResident = "resident"
	RoleAdvisor  = "advisor"
	roleSystem   = "system"
)

// Message kinds: what people wrote, and the conversation's own events
// (accepted, transferred, closed), which sit in the same sequence so that a
// resume replays them too.
const (
	KindText   = "text"
	kindSystem = "system"
)

// Conversation is one chat between a resident (or an unidentified guest)
// and the advisors who handle it.
type Conversation struct {
	ID         int64
	ResidentID *int64
	GuestID    string
	RegionID   *int64
	Topic      string
	Lang       string
	Status     string
	AdvisorID  *int64
	Outcome    string
	// LastSeq is the seq of the conversation's last message: the highest
	// seq of its messages (migrations 00021), read by the queries of
	// Store.conversations. Nothing writes it through this struct.
	LastSeq              int64 `gorm:"->;-:migration"`
	ResidentDeliveredSeq int64
	ResidentReadSeq      int64
	AdvisorDeliveredSeq  int64
	AdvisorReadSeq       int64
	CreatedAt            time.Time
	QueuedAt             time.Time
	AcceptedAt           *time.Time
	ClosedAt             *time.Time
}

// TableName keeps gorm on the migrated table.
func (Conversation) TableName() string { return "chat_conversations" }

// Identified reports whether the resident logged in (as opposed to a guest).
func (c *Conversation) Identified() bool { return c.ResidentID != nil }

// message is one stored message. Seq numbers a conversation's messages
// 1, 2, 3… without gaps; it is assigned in the transaction that stores the
// message.
type message struct {
	ConversationID int64 `gorm:"primaryKey;autoIncrement:false"`
	Seq            int64 `gorm:"primaryKey;autoIncrement:false"`
	Kind           string
	SenderRole     string
	SenderID       *int64
	SenderName     string
	ClientID       string
	Event          string
	Body           string
	CreatedAt      time.Time
}

// TableName keeps gorm on the migrated table.
func (message) TableName() string { return "chat_messages" }

// note is a staff-only remark on a conversation; residents never see it.
type note struct {
	ID             int64
	ConversationID int64
	AuthorID       int64
	Body           string
	CreatedAt      time.Time
	AuthorName     string `gorm:"->;-:migration"`
}

// TableName keeps gorm on the migrated table.
func (note) TableName() string { return "chat_notes" }

// Draft is a message to store.
type Draft struct {
	ConversationID int64
	Kind           string
	SenderRole     string
	SenderID       int64 // 0 for a guest or the system
	SenderName     string
	ClientID       string // the idempotency key; "" for system messages
	Event          string
	Body           string
}

// stored is the outcome of storing one Draft.
type stored struct {
	Message message
	// Dup is set when the client id had been stored before: Message is the
	// original and nothing new was written.
	Dup bool
	Err error
	// Remote is set when another instance stored it (forward.go): it has
	// published the message, and Message holds only its conversation, seq
	// and time.
	Remote bool
}

// Store keeps conversations and messages.
type Store struct {
	db      *gorm.DB
	sql     *sql.DB
	dialect database.Dialect
	now     func() time.Time
	// presenceTTL is how long an advisor seen at the desk stays present
	// (Limits.PresenceTTL; the default for a store of its own).
	presenceTTL time.Duration
}

// NewStore returns the chat store.
func NewStore(db *database.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db.Gorm, sql: db.SQL, dialect: db.Dialect, now: now, presenceTTL: DefaultLimits().PresenceTTL}
}

// lock adds FOR UPDATE where the database has it; SQLite transactions are
// opened IMMEDIATE and so already hold the only write lock.
func (s *Store) lock(q *gorm.DB) *gorm.DB {
	if s.dialect == database.Postgres {
		return q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	return q
}

// NewConversation opens a queued conversation.
func (s *Store) NewConversation(ctx context.Context, c *Conversation) error {
	now := s.now().UTC()
	c.ID, c.Status, c.LastSeq = 0, statusQueued, 0
	c.CreatedAt, c.QueuedAt = now, now
	if err := s.db.WithContext(ctx).Create(c).Error; err != nil {
		return fmt.Errorf("chat: create conversation: %w", err)
	}
	return nil
}

// lastSeqOf is the last seq of the conversation whose id is the SQL
// expression id: the top of its messages' primary key.
func lastSeqOf(id string) string {
	return "COALESCE((SELECT MAX(seq) FROM chat_messages WHERE conversation_id = " + id + "), 0)"
}

// conversations starts a query of conversations that reads each one's
// LastSeq with it.
func (s *Store) conversations(ctx context.Context) *gorm.DB {
	return s.db.WithContext(ctx).Table("chat_conversations").
		Select("chat_conversations.*, " + lastSeqOf("chat_conversations.id") + " AS last_seq")
}

// Conversation loads one conversation.
func (s *Store) Conversation(ctx context.Context, id int64) (*Conversation, error) {
	var c Conversation
	err := s.conversations(ctx).Where("chat_conversations.id = ?", id).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("chat: load conversation %d: %w", id, err)
	}
	return &c, nil
}

// LastSeqs returns the last sequence number of each conversation named
// that has messages.
func (s *Store) LastSeqs(ctx context.Context, ids []int64) (map[int64]int64, error) {
	out := make(map[int64]int64, len(ids))
	for chunk := range slices.Chunk(ids, 500) {
		var rows []struct{ ID, LastSeq int64 }
		err := s.db.WithContext(ctx).Table("chat_messages").Select("conversation_id AS id, MAX(seq) AS last_seq").
			Where("conversation_id IN ?", chunk).Group("conversation_id").Scan(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("chat: last sequence numbers: %w", err)
		}
		for _, r := range rows {
			out[r.ID] = r.LastSeq
		}
	}
	return out, nil
}

// After returns up to limit messages of a conversation with seq > after,
// in order.
func (s *Store) After(ctx context.Context, convID, after int64, limit int) ([]message, error) {
	var out []message
	err := s.db.WithContext(ctx).Where("conversation_id = ? AND seq > ?", convID, after).
		Order("seq").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("chat: messages of %d after %d: %w", convID, after, err)
	}
	return out, nil
}

// Append stores drafts in one transaction: each gets the next sequence
// number of its conversation, and a draft whose client id is already stored
// gets the original back with Dup set. A draft that may not be stored (a
// closed conversation, an advisor no longer assigned) gets its own error
// and does not stop the others. If the transaction fails, every result
// carries that error.
func (s *Store) Append(ctx context.Context, drafts []Draft) []stored {
	var (
		out []stored
		err error
	)
	if s.dialect == database.Postgres {
		out, err = s.appendPG(ctx, s.sql, drafts)
	} else {
		out = make([]stored, len(drafts))
		err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return s.appendTx(tx, drafts, out)
		})
	}
	if err != nil {
		return failAll(len(drafts), err)
	}
	return out
}

// failAll is the result of a batch whose transaction failed.
func failAll(n int, err error) []stored {
	out := make([]stored, n)
	for i := range out {
		out[i] = stored{Err: fmt.Errorf("chat: store messages: %w", err)}
	}
	return out
}

type dupKey struct {
	conv     int64
	role, id string
}

// appendTx is Append inside tx on SQLite, whose transactions are opened
// IMMEDIATE and so hold the only write lock throughout.
func (s *Store) appendTx(tx *gorm.DB, drafts []Draft, out []stored) error {
	ids := make([]int64, 0, 4)
	for i := range drafts {
		if !slices.Contains(ids, drafts[i].ConversationID) {
			ids = append(ids, drafts[i].ConversationID)
		}
	}
	var convs []Conversation
	if err := tx.Table("chat_conversations c").Select("c.id, c.status, c.advisor_id, "+lastSeqOf("c.id")+" AS last_seq").
		Where("c.id IN ?", ids).Find(&convs).Error; err != nil {
		return fmt.Errorf("read conversations: %w", err)
	}
	byID := make(map[int64]*Conversation, len(convs))
	for i := range convs {
		byID[convs[i].ID] = &convs[i]
	}

	var cids []string
	for i := range drafts {
		if drafts[i].ClientID != "" {
			cids = append(cids, drafts[i].ClientID)
		}
	}
	seen := map[dupKey]int{} // → index into out of the first occurrence
	existing := map[dupKey]message{}
	if len(cids) > 0 {
		var prev []message
		if err := tx.Where("conversation_id IN ? AND client_id IN ?", ids, cids).Find(&prev).Error; err != nil {
			return fmt.Errorf("find resent messages: %w", err)
		}
		for _, m := range prev {
			existing[dupKey{m.ConversationID, m.SenderRole, m.ClientID}] = m
		}
	}

	now := s.now().UTC()
	rows := make([]message, 0, len(drafts))
	rowOf := make([]int, len(drafts)) // draft → rows index, -1 if none
	for i := range drafts {
		d := &drafts[i]
		rowOf[i] = -1
		c, ok := byID[d.ConversationID]
		if !ok {
			out[i].Err = errNotFound
			continue
		}
		k := dupKey{d.ConversationID, d.SenderRole, d.ClientID}
		if d.ClientID != "" {
			if m, ok := existing[k]; ok {
				out[i] = stored{Message: m, Dup: true}
				continue
			}
			if j, ok := seen[k]; ok {
				rowOf[i] = rowOf[j]
				out[i].Dup = true
				continue
			}
		}
		if err := mayWrite(c, d); err != nil {
			out[i].Err = err
			continue
		}
		c.LastSeq++
		m := d.message(c.LastSeq, now)
		if d.ClientID != "" {
			seen[k] = i
		}
		rowOf[i] = len(rows)
		rows = append(rows, m)
	}
	if len(rows) == 0 {
		return nil
	}
	if err := tx.Create(&rows).Error; err != nil {
		return fmt.Errorf("insert messages: %w", err)
	}
	for i := range drafts {
		if r := rowOf[i]; r >= 0 {
			out[i].Message = rows[r]
		}
	}
	return nil
}

// mayWrite is the rule for messages people send: the conversation is open,
// and an advisor is the one it is assigned to.
func mayWrite(c *Conversation, d *Draft) error {
	if c.Status == statusClosed {
		return errClosed
	}
	if d.SenderRole == RoleAdvisor && (c.AdvisorID == nil || *c.AdvisorID != d.SenderID) {
		return errForbidden
	}
	return nil
}

// Receipt records how far one side has received or read; each mark only
// moves forward and never past the last stored message. It reports whether
// anything changed. Both marks are one statement, and on PostgreSQL its
// commit does not wait for the WAL flush (synchronous_commit off for this
// transaction only): a receipt is a hint for the other side's ticks, not
// something a resident sent, so a crash may take back the last fraction of
// a second of them, and a busy chat does not pay a disk flush for each.
func (s *Store) Receipt(ctx context.Context, convID int64, role string, delivered, read int64) (bool, error) {
	dcol, rcol := "resident_delivered_seq", "resident_read_seq"
	if role == RoleAdvisor {
		dcol, rcol = "advisor_delivered_seq", "advisor_read_seq"
	}
	// Column names come from the fixed pair above, values are placeholders.
	last := lastSeqOf("@id")
	moves := func(col string) string { return "(@" + col + " > " + col + " AND @" + col + " <= " + last + ")" }
	set := func(col string) string {
		return col + " = CASE WHEN " + moves(col) + " THEN @" + col + " ELSE " + col + " END"
	}
	where := "id = @id AND (" + moves(dcol) + " OR " + moves(rcol) + ")"
	if s.dialect == database.Postgres {
		where += " AND set_config('synchronous_commit', 'off', true) = 'off'"
	}
	res := s.db.WithContext(ctx).Exec("UPDATE chat_conversations SET "+set(dcol)+", "+set(rcol)+" WHERE "+where,
		map[string]any{"id": convID, dcol: delivered, rcol: read})
	if res.Error != nil {
		return false, fmt.Errorf("chat: receipt of %d: %w", convID, res.Error)
	}
	return res.RowsAffected > 0, nil
}
