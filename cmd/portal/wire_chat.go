package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/chat"
)

// chatConfig is the chat's part of Config (PORTAL_CHAT_* variables).
type chatConfig struct {
	Capacity        int
	Hours           string
	MinutesPerPlace int
	GuestTTL        time.Duration
	RedisPrefix     string
	Limits          chat.Limits
}

func loadChatConfig(r *envReader) chatConfig {
	def := chat.DefaultLimits()
	c := chatConfig{
		Capacity:        r.integer("PORTAL_CHAT_CAPACITY", chat.DefaultCapacity, 1, 20),
		Hours:           r.str("PORTAL_CHAT_HOURS", chat.DefaultHours),
		MinutesPerPlace: r.integer("PORTAL_CHAT_MINUTES_PER_PLACE", chat.DefaultMinutesPerPlace, 1, 120),
		GuestTTL:        r.duration("PORTAL_CHAT_GUEST_TTL", chat.DefaultGuestTTL),
		RedisPrefix:     r.str("PORTAL_CHAT_REDIS_PREFIX", chat.DefaultRedisPrefix),
		Limits: chat.Limits{
			MaxFrame:       r.integer("PORTAL_CHAT_MAX_FRAME_BYTES", def.MaxFrame, 1024, 1<<20),
			MaxMessage:     r.integer("PORTAL_CHAT_MAX_MESSAGE_CHARS", def.MaxMessage, 100, 100000),
			Rate:           float64(r.integer("PORTAL_CHAT_RATE", int(def.Rate), 1, 100000)),
			Burst:          r.integer("PORTAL_CHAT_BURST", def.Burst, 1, 100000),
			SocketsPerUser: r.integer("PORTAL_CHAT_SOCKETS_PER_USER", def.SocketsPerUser, 1, 1000),
			SendBuffer:     r.integer("PORTAL_CHAT_SEND_BUFFER_BYTES", def.SendBuffer, 16<<10, 64<<20),
			PingInterval:   r.duration("PORTAL_CHAT_PING_INTERVAL", def.PingInterval),
			PongWait:       r.duration("PORTAL_CHAT_PONG_WAIT", def.PongWait),
			WriteWait:      def.WriteWait,
			PollInterval:   r.duration("PORTAL_CHAT_POLL_INTERVAL", def.PollInterval),
			SafetyPoll:     r.duration("PORTAL_CHAT_SAFETY_POLL", def.SafetyPoll),
			SessionCheck:   r.duration("PORTAL_CHAT_SESSION_CHECK", def.SessionCheck),
			Writers:        r.integer("PORTAL_CHAT_WRITERS", def.Writers, 1, 64),
			MaxBatch:       r.integer("PORTAL_CHAT_BATCH", def.MaxBatch, 1, 2000),

			PresenceInterval: r.duration("PORTAL_CHAT_PRESENCE_INTERVAL", def.PresenceInterval),
			PresenceTTL:      r.duration("PORTAL_CHAT_PRESENCE_TTL", def.PresenceTTL),
		},
	}
	if err := chat.CheckHours(c.Hours); err != nil {
		r.fail("PORTAL_CHAT_HOURS", "%v", err)
	}
	if c.Limits.PongWait <= c.Limits.PingInterval {
		r.fail("PORTAL_CHAT_PONG_WAIT", "must be longer than PORTAL_CHAT_PING_INTERVAL")
	}
	if c.Limits.PresenceTTL < 2*c.Limits.PresenceInterval {
		r.fail("PORTAL_CHAT_PRESENCE_TTL", "must be at least twice PORTAL_CHAT_PRESENCE_INTERVAL")
	}
	return c
}

// wireChat builds the chat, mounts its routes and its blocks on "Oma
// asiointi" and the desk. The returned function disconnects the sockets
// (clients resume on another instance) and stops the hub.
func wireChat(app *fiber.App, d *deps) (func(context.Context) error, error) {
	cc := d.cfg.Chat
	var broker chat.BrokerFactory // nil: the in-process broker
	if d.redis != nil {
		broker = chat.RedisFactory(chat.RedisConfig{Client: d.redis, Prefix: cc.RedisPrefix, Log: d.log})
	}
	svc, err := chat.New(chat.Config{
		PublicURL:       d.cfg.PublicURL,
		SecretKey:       d.cfg.SecretKey,
		Secure:          secureCookies(d.cfg),
		Limits:          cc.Limits,
		Capacity:        cc.Capacity,
		GuestTTL:        cc.GuestTTL,
		Hours:           cc.Hours,
		MinutesPerPlace: cc.MinutesPerPlace,
		Location:        d.cfg.Location,
	}, chat.Deps{
		DB: d.db, Broker: broker, Auth: d.auth, Frontend: d.fe, Audit: d.audit,
		Regions: d.regions, Log: d.log, Now: d.now, FormLimit: d.formLimit, Threads: chatThreads{d},
	})
	if err != nil {
		return nil, fmt.Errorf("chat: %w", err)
	}
	// "Chat" in every page's header while the chat is open.
	if err := d.fe.AddHeaderLink(svc.HeaderLink()); err != nil {
		return nil, errors.Join(fmt.Errorf("chat: %w", err), svc.Close(context.Background()))
	}
	d.metrics.MustRegister(svc.Collectors()...)
	svc.Register(app)
	d.home.AddMySection(svc.MySection)
	d.desk.AddSection(svc.DeskSection)
	return svc.Close, nil
}
