// Package chat is the live chat between residents and advisors: the wire
// protocol (PROTOCOL.md), the store, the hub of this instance's sockets,
// the broker between instances (in-process or Redis pub/sub), the
// WebSocket handler, the queue and the advisor's workflow, and the pages.
//
// The database is the source of truth. A message is stored, with its
// conversation's next sequence number, before it is acknowledged, and
// acknowledged before it is published; pub/sub only wakes other instances
// up, and every client resumes from the last sequence it saw.
package chat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// Limits bound what one socket and one instance may cost.
type Limits struct {
	MaxFrame       int     // bytes of one WebSocket message from a client
	MaxMessage     int     // characters of one chat message
	Rate           float64 // frames a second per socket, on average
	Burst          int     // frames a socket may send at once
	SocketsPerUser int     // open sockets per user (or guest) on one instance
	SendBuffer     int     // bytes waiting for a socket before it counts as slow

	PingInterval time.Duration
	PongWait     time.Duration // no frame and no pong for this long: dead
	WriteWait    time.Duration

	PollInterval time.Duration // database poll while the broker is away
	SafetyPoll   time.Duration // database poll while it is up
	SessionCheck time.Duration // how often sockets' login sessions are checked

	// PresenceInterval is how often each instance renews the presence of
	// the advisors who have a socket open on it; PresenceTTL is how long an
	// advisor stays present (and, if they chose so, available) after that.
	PresenceInterval time.Duration
	PresenceTTL      time.Duration

	// Writers is the number of group-commit lanes, the same on every
	// instance. Each lane has one owner in the cluster (forward.go), so
	// one lane puts every message through one connection, which batches
	// the most: it spent the least PostgreSQL CPU per message and had the
	// shortest tails at 10,000 msg/s (docs/BENCHMARKS.md, "The resend
	// look-up and one lane").
	Writers  int
	MaxBatch int // messages per transaction at most

	// ForwardTimeout is how long a draft forwarded to the owner of its lane
	// waits for the verdict before its client is told to resend it.
	ForwardTimeout time.Duration
}

// DefaultLimits are the single-process defaults.
func DefaultLimits() Limits {
	return Limits{
		MaxFrame: 16 << 10, MaxMessage: 4000, Rate: 20, Burst: 60, SocketsPerUser: 8,
		SendBuffer: 512 << 10, PingInterval: 25 * time.Second, PongWait: 60 * time.Second,
		WriteWait: 10 * time.Second, PollInterval: time.Second, SafetyPoll: 15 * time.Second,
		SessionCheck: time.Minute, PresenceInterval: 20 * time.Second, PresenceTTL: time.Minute,
		Writers: 1, MaxBatch: 256, ForwardTimeout: 10 * time.Second,
	}
}

// Config configures the chat.
type Config struct {
	PublicURL *url.URL // the Origin sockets must come from
	SecretKey []byte   // guest tokens are signed with a key derived from it
	Secure    bool     // Secure cookies
	Limits    Limits
	// Capacity is how many chats an advisor has open at once unless their
	// own setting says otherwise.
	Capacity int
	// GuestTTL is how long an anonymous visitor's token lasts.
	GuestTTL time.Duration
	// Hours are the opening hours of regions that have none of their own,
	// such as "Mon-Fri 09:00-15:00; Sat 10:00-12:00".
	Hours string
	// MinutesPerPlace estimates the wait: places ahead × this ÷ advisors available.
	MinutesPerPlace int
	// Location is the time zone of the opening hours (PORTAL_TIME_ZONE); required.
	Location *time.Location
}

// Deps are the shared pieces the chat uses.
type Deps struct {
	DB        *database.DB
	Broker    BrokerFactory // nil: a private in-process bus
	Auth      *auth.Auth    // nil in tools that authenticate otherwise
	Frontend  *frontend.Frontend
	Audit     *audit.Log
	Regions   *regions.Store
	Log       *slog.Logger
	Now       func() time.Time
	FormLimit fiber.Handler // rate limit of the start form; nil for none
	// Threads continues ended chats as secure message threads; nil offers
	// no such button.
	Threads ThreadStarter
}

// Service is the chat feature of one instance.
type Service struct {
	cfg      Config
	store    *Store
	hub      *hub
	fe       *frontend.Frontend
	audit    *audit.Log
	regions  *regions.Store
	auth     *auth.Auth
	log      *slog.Logger
	now      func() time.Time
	formLim  fiber.Handler
	threads  ThreadStarter
	origin   string
	guestKey []byte
	hours    week
	loc      *time.Location
	openNow  openCache // IsOpen for the header link

	// presenceAvail is the count of available advisors renewPresence saw
	// last (-1: none yet); only its goroutine uses it.
	presenceAvail int
	closeOnce     sync.Once
}

// The defaults of Config: what New fills in for a zero field, and what
// cmd/portal offers when a PORTAL_CHAT_* setting is unset. Written once.
const (
	DefaultCapacity        = 3                     // chats one advisor has open at once
	DefaultMinutesPerPlace = 4                     // minutes of wait told per place in the queue
	DefaultGuestTTL        = 12 * time.Hour        // lifetime of a guest token
	DefaultHours           = "Mon-Fri 09:00-15:00" // opening hours of a region without its own
	DefaultRedisPrefix     = "portal:chat:"        // prefix of the Redis pub/sub channels
)

// New builds the chat and starts its hub.
func New(cfg Config, d Deps) (*Service, error) {
	if cfg.PublicURL == nil {
		return nil, errors.New("chat: no public URL")
	}
	def := DefaultLimits()
	l := &cfg.Limits
	fill := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	fill(&l.MaxFrame, def.MaxFrame)
	fill(&l.MaxMessage, def.MaxMessage)
	fill(&l.Burst, def.Burst)
	fill(&l.SocketsPerUser, def.SocketsPerUser)
	fill(&l.SendBuffer, def.SendBuffer)
	fill(&l.Writers, def.Writers)
	fill(&l.MaxBatch, def.MaxBatch)
	fill(&cfg.Capacity, DefaultCapacity)
	fill(&cfg.MinutesPerPlace, DefaultMinutesPerPlace)
	if l.Rate <= 0 {
		l.Rate = def.Rate
	}
	for _, p := range []struct {
		v *time.Duration
		d time.Duration
	}{
		{&l.PingInterval, def.PingInterval}, {&l.PongWait, def.PongWait}, {&l.WriteWait, def.WriteWait},
		{&l.PollInterval, def.PollInterval}, {&l.SafetyPoll, def.SafetyPoll}, {&l.SessionCheck, def.SessionCheck},
		{&l.PresenceInterval, def.PresenceInterval}, {&l.PresenceTTL, def.PresenceTTL},
		{&l.ForwardTimeout, def.ForwardTimeout}, {&cfg.GuestTTL, DefaultGuestTTL},
	} {
		if *p.v <= 0 {
			*p.v = p.d
		}
	}
	if l.PresenceTTL < 2*l.PresenceInterval {
		// One late renewal must not make everybody absent.
		return nil, fmt.Errorf("chat: presence TTL %s is shorter than twice the presence interval %s", l.PresenceTTL, l.PresenceInterval)
	}
	if d.Audit == nil {
		return nil, fmt.Errorf("chat: Deps.Audit is required (staff reads of residents' chats are logged)")
	}
	if cfg.Hours == "" {
		cfg.Hours = DefaultHours
	}
	hours, err := parseHours(cfg.Hours)
	if err != nil {
		return nil, err
	}
	loc := cfg.Location
	if loc == nil {
		return nil, fmt.Errorf("chat: Config.Location is required (the time zone of the opening hours)")
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := d.Now
	if now == nil {
		now = time.Now
	}
	key, err := guestKey(cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	factory := d.Broker
	if factory == nil {
		factory = newMemoryBus().Factory()
	}
	s := &Service{
		cfg: cfg, store: NewStore(d.DB, now), fe: d.Frontend, audit: d.Audit, regions: d.Regions,
		auth: d.Auth, log: log, now: now, formLim: d.FormLimit, threads: d.Threads, guestKey: key, hours: hours, loc: loc,
		origin: cfg.PublicURL.Scheme + "://" + cfg.PublicURL.Host,
	}
	s.store.presenceTTL = l.PresenceTTL
	if s.hub, err = newHub(s.store, cfg.Limits, log, s); err != nil {
		return nil, fmt.Errorf("chat: hub: %w", err)
	}
	if err := s.hub.start(factory); err != nil {
		return nil, fmt.Errorf("chat: broker: %w", err)
	}
	if d.Auth != nil {
		d.Auth.OnLogout(func(sessionID string, userID int64) {
			s.hub.revokeSession(sessionID)
			s.loggedOut(userID)
		})
	}
	s.presenceAvail = -1
	s.hub.wg.Add(1)
	go s.hub.every(l.PresenceInterval, s.renewPresence)
	return s, nil
}

// Collectors are the chat's Prometheus metrics, for the instance's
// registry: how long messages wait for, and take in, storage.
func (s *Service) Collectors() []prometheus.Collector { return s.hub.metrics.collectors() }

// Close disconnects this instance's sockets (they resume elsewhere) and
// stops the hub.
func (s *Service) Close(ctx context.Context) error {
	var err error
	s.closeOnce.Do(func() { err = s.hub.close(ctx) })
	return err
}

// loggedOut sets an advisor away when they log out, on every instance's
// queue. Another login session of theirs, if any, is not looked for (the
// session stores cannot list a user's sessions): choosing "available"
// again on the desk takes one click.
func (s *Service) loggedOut(userID int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	changed, err := s.store.SetAway(ctx, userID)
	if err != nil {
		s.log.Warn("chat: logout", "err", err)
		return
	}
	if changed {
		s.openNow.forget()
		s.hub.queueChanged()
	}
}

// renewPresence renews, every PresenceInterval, the presence of the staff
// who have a socket open on this instance. When the number of available
// advisors changes without a status change (someone's presence lapsed),
// it refreshes this instance's queues; every instance notices on its own.
func (s *Service) renewPresence() {
	ctx := s.hub.ctx
	seen := map[int64]bool{}
	s.hub.forClients(func(c *client) {
		if c.p.Staff() && c.p.UserID != 0 {
			seen[c.p.UserID] = true
		}
	})
	if len(seen) > 0 {
		if err := s.store.Touch(ctx, slices.Collect(maps.Keys(seen))); err != nil && ctx.Err() == nil {
			s.log.Warn("chat: presence", "err", err)
		}
	}
	n, err := s.store.AvailableAdvisors(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("chat: presence", "err", err)
		}
		return
	}
	if s.presenceAvail >= 0 && n != s.presenceAvail {
		s.openNow.forget()
		s.hub.queueChangedLocal()
	}
	s.presenceAvail = n
}

// Register mounts every chat route on r.
func (s *Service) Register(r fiber.Router) {
	staff := auth.RequireRole(auth.RoleAdvisor, auth.RoleAdmin)
	admin := auth.RequireRole(auth.RoleAdmin)
	limit := s.formLim
	if limit == nil {
		limit = func(c *fiber.Ctx) error { return c.Next() }
	}

	// The socket: session or guest token, and Origin, checked before the upgrade.
	r.Get("/chat/ws", s.checkUpgrade, websocket.New(s.serveSocket, websocket.Config{
		Origins:         []string{s.origin},
		ReadBufferSize:  256, // reads come through fasthttp's own buffer
		WriteBufferSize: 4096,
		WriteBufferPool: &sync.Pool{},
	}))
	// Keeps the login session alive while someone only chats.
	r.Get("/chat/alive", func(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusNoContent) })

	// Resident and guest: opening hours, start, the conversation, transcripts.
	r.Get("/chat", s.handleIndex)
	r.Post("/chat/start", limit, s.handleStart)
	r.Get("/chat/c/:id<int>", s.handleConversation)
	r.Post("/chat/c/:id<int>/messages", limit, s.handlePost)
	r.Post("/chat/c/:id<int>/end", s.handleEnd)
	r.Get("/chat/transcripts/:id<int>", auth.RequireRole(auth.RoleResident), s.handleTranscript)
	r.Post("/chat/transcripts/:id<int>/thread", auth.RequireRole(auth.RoleResident), func(c *fiber.Ctx) error { return s.continueAsThread(c, false) })

	// Advisor desk: status, queue, accept, conversation, notes, transfer, close.
	r.Get("/chat/desk", staff, s.handleDesk)
	r.Get("/chat/desk/queue", staff, s.handleDeskQueue)
	r.Post("/chat/desk/status", staff, s.handleStatus)
	r.Post("/chat/desk/next", staff, s.handleNext)
	r.Post("/chat/desk/c/:id<int>/accept", staff, s.handleAccept)
	r.Get("/chat/desk/c/:id<int>", staff, s.handleDeskConversation)
	r.Post("/chat/desk/c/:id<int>/notes", staff, s.handleNote)
	r.Post("/chat/desk/c/:id<int>/transfer", staff, s.handleTransfer)
	r.Post("/chat/desk/c/:id<int>/close", staff, s.handleClose)
	r.Get("/chat/desk/c/:id<int>/resident", staff, s.handleResident)
	r.Post("/chat/desk/c/:id<int>/thread", staff, func(c *fiber.Ctx) error { return s.continueAsThread(c, true) })

	// Administration: canned replies, opening hours, advisors' capacity.
	r.Get("/chat/admin", admin, s.handleAdmin)
	r.Post("/chat/admin/replies", admin, s.handleReplySave)
	r.Post("/chat/admin/replies/:rid<int>/delete", admin, s.handleReplyDelete)
	r.Post("/chat/admin/hours", admin, s.handleHoursSave)
	r.Post("/chat/admin/capacity", admin, s.handleCapacitySave)
}

// joinedFrame describes a conversation to a socket that (re)joins it.
func (s *Service) joinedFrame(ctx context.Context, cv *Conversation, p *Principal) joinedFrame {
	f := joinedFrame{
		Type: typeJoined, Conv: cv.ID, Status: cv.Status, Last: cv.LastSeq,
		Identified: cv.Identified(), Topic: cv.Topic, Lang: cv.Lang,
	}
	if p.Staff() {
		f.PeerDeliv, f.PeerRead, f.Outcome = cv.ResidentDeliveredSeq, cv.ResidentReadSeq, cv.Outcome
	} else {
		f.PeerDeliv, f.PeerRead = cv.AdvisorDeliveredSeq, cv.AdvisorReadSeq
	}
	if cv.AdvisorID != nil {
		name, err := s.store.GivenName(ctx, *cv.AdvisorID)
		if err != nil {
			s.log.Warn("chat: advisor name", "err", err)
		}
		f.Advisor = name
	}
	return f
}

var _ hubOwner = (*Service)(nil)

// sessionValid tells the hub whether a login session is still alive; a
// chat without logins (a load test) has none to end.
func (s *Service) sessionValid(ctx context.Context, id string) (bool, error) {
	if s.auth == nil {
		return true, nil
	}
	return s.auth.SessionValid(ctx, id)
}
