package chat

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// protocolVersion is the wire protocol's version (see PROTOCOL.md).
const protocolVersion = 1

// Frame types, client to server.
const (
	typeHello    = "hello"
	typeJoin     = "join"
	typeSend     = "send"
	typeTyping   = "typing"
	typeReceived = "received"
	typeRead     = "read"
	typeLeave    = "leave"
)

// Frame types, server to client.
const (
	typeWelcome = "welcome"
	typeJoined  = "joined"
	typeLeft    = "left"
	TypeAck     = "ack"
	TypeMessage = "message"
	typeReceipt = "receipt"
	typeQueue   = "queue"
	typeNote    = "note"
	TypeError   = "error"
)

// Error codes of error frames.
const (
	codeBadFrame  = "bad_frame"
	codeForbidden = "forbidden"
	codeNotJoined = "not_joined"
	codeClosed    = "closed"
	codeEmpty     = "empty"
	codeTooLong   = "too_long"
	codeBadID     = "bad_client_id"
	codeInternal  = "internal"
	codeTooMany   = "too_many_joins"
)

// Close codes and reasons (the reason is the code the UI translates).
const (
	closePolicy       = 1008 // reasons: too_large, rate_limited, too_many_sockets, bad_frame
	closeGoingAway    = 1001 // server shutting down: reconnect
	closeTryAgain     = 1013 // slow consumer: reconnect and resume
	closeSessionEnded = 4401 // logged out or session expired: do not reconnect

	reasonTooLarge       = "too_large"
	reasonRateLimited    = "rate_limited"
	reasonTooManySockets = "too_many_sockets"
	reasonBadFrame       = "bad_frame"
	reasonSlow           = "slow"
	reasonSessionEnded   = "session_ended"
	reasonShutdown       = "shutdown"
)

// inFrame is any client frame; fields not used by its type are ignored.
type inFrame struct {
	Type  string `json:"type"`
	V     int    `json:"v,omitempty"`
	Conv  int64  `json:"conv,omitempty"`
	After int64  `json:"after,omitempty"`
	CID   string `json:"cid,omitempty"`
	Body  string `json:"body,omitempty"`
	Seq   int64  `json:"seq,omitempty"`
}

// messageFrame is a stored message on the wire.
type messageFrame struct {
	Type  string    `json:"type"`
	Conv  int64     `json:"conv"`
	Seq   int64     `json:"seq"`
	Kind  string    `json:"kind"`
	From  string    `json:"from"`
	Name  string    `json:"name,omitempty"`
	CID   string    `json:"cid,omitempty"`
	Event string    `json:"event,omitempty"`
	Body  string    `json:"body"`
	At    time.Time `json:"at"`
}

func encodeMessage(m *message) []byte {
	return mustJSON(messageFrame{
		Type: TypeMessage, Conv: m.ConversationID, Seq: m.Seq, Kind: m.Kind,
		From: m.SenderRole, Name: m.SenderName, CID: m.ClientID, Event: m.Event,
		Body: m.Body, At: m.CreatedAt,
	})
}

type ackFrame struct {
	Type string    `json:"type"`
	Conv int64     `json:"conv"`
	CID  string    `json:"cid"`
	Seq  int64     `json:"seq"`
	At   time.Time `json:"at"`
	Dup  bool      `json:"dup,omitempty"`
}

type errorFrame struct {
	Type string `json:"type"`
	Code string `json:"code"`
	Conv int64  `json:"conv,omitempty"`
	CID  string `json:"cid,omitempty"`
}

func encodeError(code string, conv int64, cid string) []byte {
	return mustJSON(errorFrame{Type: TypeError, Code: code, Conv: conv, CID: cid})
}

type welcomeFrame struct {
	Type     string `json:"type"`
	V        int    `json:"v"`
	Role     string `json:"role"`
	Instance string `json:"instance"`
}

// joinedFrame tells a client the conversation's state when it (re)joins;
// the messages after its last seen sequence follow it.
type joinedFrame struct {
	Type        string `json:"type"`
	Conv        int64  `json:"conv"`
	Status      string `json:"status"`
	Last        int64  `json:"last"`
	Advisor     string `json:"advisor,omitempty"`
	Identified  bool   `json:"identified"`
	PeerDeliv   int64  `json:"peerDelivered"`
	PeerRead    int64  `json:"peerRead"`
	Topic       string `json:"topic"`
	Lang        string `json:"lang"`
	Outcome     string `json:"outcome,omitempty"`
	Transferred bool   `json:"transferred,omitempty"`
}

type typingFrame struct {
	Type string `json:"type"`
	Conv int64  `json:"conv"`
	From string `json:"from"`
	Name string `json:"name,omitempty"`
}

type receiptFrame struct {
	Type      string `json:"type"`
	Conv      int64  `json:"conv"`
	From      string `json:"from"`
	Delivered int64  `json:"delivered"`
	Read      int64  `json:"read"`
}

type noteFrame struct {
	Type   string    `json:"type"`
	Conv   int64     `json:"conv"`
	ID     int64     `json:"id"`
	Author string    `json:"author"`
	Body   string    `json:"body"`
	At     time.Time `json:"at"`
}

// queueFrame is the live queue. Advisors get Items (their region first)
// and whether they may accept; a waiting resident gets Position and
// Estimate (minutes) for their own conversation.
type queueFrame struct {
	Type      string      `json:"type"`
	Conv      int64       `json:"conv,omitempty"`
	Position  int         `json:"position,omitempty"`
	Estimate  int         `json:"estimate,omitempty"`
	Available int         `json:"available"`
	Items     []queueItem `json:"items,omitempty"`
	CanAccept bool        `json:"canAccept,omitempty"`
	Status    string      `json:"status,omitempty"`
	Active    int         `json:"active,omitempty"`
	Capacity  int         `json:"capacity,omitempty"`
}

type queueItem struct {
	Conv       int64     `json:"conv"`
	Topic      string    `json:"topic"`
	Lang       string    `json:"lang"`
	Region     string    `json:"region"`
	OwnRegion  bool      `json:"ownRegion"`
	Identified bool      `json:"identified"`
	Since      time.Time `json:"since"`
	Waiting    int       `json:"waitingSeconds"`
	Minutes    int       `json:"minutes"`
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own frame structs are encoded; they always marshal.
		panic("chat: encode frame: " + err.Error())
	}
	return b
}

// validClientID accepts 1–64 characters of [A-Za-z0-9_-], enough for a
// UUID or a counter, and nothing a log or a page could be confused by.
func validClientID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// cleanBody checks a message text: valid UTF-8, not blank, at most max
// characters. Control characters other than newline and tab are removed.
func cleanBody(s string, max int) (string, string) {
	if !utf8.ValidString(s) {
		return "", codeBadFrame
	}
	buf := make([]rune, 0, len(s))
	blank := true
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			continue
		}
		if r != ' ' && r != '\n' && r != '\t' {
			blank = false
		}
		buf = append(buf, r)
	}
	if blank {
		return "", codeEmpty
	}
	if len(buf) > max {
		return "", codeTooLong
	}
	return string(buf), ""
}

// topic names of the broker.
func convTopic(id int64) string { return "conv." + strconv.FormatInt(id, 10) }

const (
	queueTopic   = "queue"
	controlTopic = "control"
)
