package chat

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisBroker carries events over Redis pub/sub: one channel per
// conversation, subscribed only on the instances that hold one of its
// sockets, so each instance's traffic grows with its own conversations.
// Publishes are pipelined by one goroutine (which keeps their order);
// one PubSub connection receives, reconnecting and resubscribing by itself.
type redisBroker struct {
	client  redis.UniversalClient
	prefix  string
	deliver func(string, []byte)
	up      func()
	log     *slog.Logger

	ps      *redis.PubSub
	healthy atomic.Bool
	pub     chan pubItem
	ops     chan subOp

	mu      sync.Mutex
	refs    map[string]int
	waiters map[string][]chan struct{}
	active  map[string]bool // confirmed by Redis on the current connection

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type pubItem struct {
	channel string
	payload []byte
}

type subOp struct {
	channel string
	sub     bool
}

var _ broker = (*redisBroker)(nil)

// RedisFactory returns a BrokerFactory over client. prefix starts every
// channel name, so that several portals (or tests) can share one Redis.
func RedisFactory(cfg RedisConfig) BrokerFactory {
	return func(deliver func(string, []byte), up func()) (broker, error) {
		return newRedisBroker(cfg.Client, cfg.Prefix, deliver, up, cfg.Log), nil
	}
}

// RedisConfig is what the Redis broker is built from.
type RedisConfig struct {
	Client redis.UniversalClient
	// Prefix starts every channel name, so that several portals (or tests)
	// can share one Redis; DefaultRedisPrefix in the portal.
	Prefix string
	Log    *slog.Logger // nil: discard
}

func newRedisBroker(client redis.UniversalClient, prefix string, deliver func(string, []byte), up func(), log *slog.Logger) *redisBroker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &redisBroker{
		client: client, prefix: prefix, deliver: deliver, up: up, log: log,
		ps:      client.Subscribe(ctx),
		pub:     make(chan pubItem, 8192),
		ops:     make(chan subOp, 1024),
		refs:    map[string]int{},
		waiters: map[string][]chan struct{}{},
		active:  map[string]bool{},
		ctx:     ctx, cancel: cancel,
	}
	b.wg.Add(3)
	go b.receive()
	go b.publish()
	go b.subscriber()
	return b
}

func (b *redisBroker) Publish(topic string, payload []byte) error {
	if !b.healthy.Load() {
		return errBrokerAway
	}
	select {
	case b.pub <- pubItem{b.prefix + topic, payload}:
		return nil
	case <-b.ctx.Done():
		return errBrokerAway
	}
}

func (b *redisBroker) Subscribe(topic string) <-chan struct{} {
	ch := b.prefix + topic
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refs[ch]++
	if b.refs[ch] > 1 && b.active[ch] {
		return closedChan
	}
	w := make(chan struct{})
	b.waiters[ch] = append(b.waiters[ch], w)
	if b.refs[ch] == 1 {
		b.queueOp(subOp{ch, true})
	}
	return w
}

func (b *redisBroker) Unsubscribe(topic string) {
	ch := b.prefix + topic
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.refs[ch]--; b.refs[ch] > 0 {
		return
	}
	delete(b.refs, ch)
	delete(b.active, ch)
	b.queueOp(subOp{ch, false})
}

// queueOp hands a (un)subscription to the subscriber goroutine, which
// applies them in order. Called with b.mu held.
func (b *redisBroker) queueOp(op subOp) {
	select {
	case b.ops <- op:
	case <-b.ctx.Done():
	}
}

func (b *redisBroker) Healthy() bool { return b.healthy.Load() }

func (b *redisBroker) Close() error {
	b.cancel()
	err := b.ps.Close()
	b.wg.Wait()
	return err
}

// subscriber applies (un)subscriptions. go-redis remembers the channel set
// even when the command fails, and subscribes to it again on reconnect.
func (b *redisBroker) subscriber() {
	defer b.wg.Done()
	for {
		select {
		case <-b.ctx.Done():
			return
		case op := <-b.ops:
			ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
			var err error
			if op.sub {
				err = b.ps.Subscribe(ctx, op.channel)
			} else {
				err = b.ps.Unsubscribe(ctx, op.channel)
			}
			cancel()
			if err != nil && b.ctx.Err() == nil {
				b.setDown(err)
			}
		}
	}
}

// receive reads the PubSub connection. go-redis reconnects on the next
// read after an error and resubscribes every channel; the confirmations
// tell us that Redis is back.
func (b *redisBroker) receive() {
	defer b.wg.Done()
	backoff := 50 * time.Millisecond
	for b.ctx.Err() == nil {
		wait := 15 * time.Second
		if !b.healthy.Load() {
			wait = 500 * time.Millisecond
		}
		msg, err := b.ps.ReceiveTimeout(b.ctx, wait)
		if err != nil {
			if b.ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Quiet connection: a ping proves it alive (the pong arrives here).
				if perr := b.ps.Ping(b.ctx); perr == nil {
					continue
				}
			}
			b.setDown(err)
			sleep(b.ctx, backoff+rand.N(backoff))
			backoff = min(backoff*2, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := msg.(type) {
		case *redis.Message:
			b.deliver(strings.TrimPrefix(m.Channel, b.prefix), []byte(m.Payload))
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				b.confirm(m.Channel)
			}
			b.setUp()
		case *redis.Pong:
			b.setUp()
		}
	}
}

func (b *redisBroker) confirm(ch string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.refs[ch] > 0 {
		b.active[ch] = true
	}
	for _, w := range b.waiters[ch] {
		close(w)
	}
	delete(b.waiters, ch)
}

func (b *redisBroker) setUp() {
	if b.healthy.CompareAndSwap(false, true) {
		b.log.Info("chat: broker connected")
		if b.up != nil {
			// Joined by Close like the broker's other goroutines.
			b.wg.Add(1)
			go func() {
				defer b.wg.Done()
				b.up()
			}()
		}
	}
}

func (b *redisBroker) setDown(err error) {
	if b.healthy.CompareAndSwap(true, false) {
		b.log.Warn("chat: broker unavailable; polling the database until it returns", "err", err)
	}
	b.mu.Lock()
	clear(b.active)
	b.mu.Unlock()
}

// publish sends queued events in pipelines: one round trip for as many
// events as have queued up meanwhile, in their order.
func (b *redisBroker) publish() {
	defer b.wg.Done()
	batch := make([]pubItem, 0, 512)
	for {
		select {
		case <-b.ctx.Done():
			return
		case it := <-b.pub:
			batch = append(batch[:0], it)
		}
	drain:
		for len(batch) < cap(batch) {
			select {
			case it := <-b.pub:
				batch = append(batch, it)
			default:
				break drain
			}
		}
		if !b.healthy.Load() {
			continue // dropped: subscribers catch up from the database
		}
		pipe := b.client.Pipeline()
		for _, it := range batch {
			pipe.Publish(b.ctx, it.channel, it.payload)
		}
		if _, err := pipe.Exec(b.ctx); err != nil && b.ctx.Err() == nil {
			b.setDown(err)
		}
		clear(batch)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
