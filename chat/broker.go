package chat

import (
	"errors"
	"sync"
)

// errBrokerAway is returned by Publish while the broker cannot carry
// events. Nothing is lost by it: the event's data is in the database, and
// subscribers catch up from there.
var errBrokerAway = errors.New("chat: broker unavailable")

// broker carries events between the portal's instances; it only wakes them
// up, the database stays the source of truth.
//
// Contract:
//   - Publish hands payload to every instance subscribed to topic at that
//     moment, the publishing instance included. Events one instance
//     publishes on one topic arrive in the order they were published.
//     Publish never waits for subscribers; it may block briefly when the
//     outgoing queue is full.
//   - Delivery is at most once. While the broker is away (Redis down or
//     unreachable) events are dropped, Healthy reports false, and the hub
//     polls the database instead. When the broker comes back it resubscribes
//     by itself and then calls the up function given to its constructor,
//     so that the hub can read whatever it missed.
//   - Subscribe and Unsubscribe are counted per topic. The channel Subscribe
//     returns is closed once events published afterwards are certain to be
//     delivered; while the broker is away it may stay open, and callers wait
//     on it only briefly.
//   - All methods are safe for concurrent use. Deliver callbacks run on the
//     broker's goroutine and must not block.
type broker interface {
	Publish(topic string, payload []byte) error
	Subscribe(topic string) <-chan struct{}
	Unsubscribe(topic string)
	Healthy() bool
	Close() error
}

// BrokerFactory builds a hub's broker. deliver receives every event of the
// subscribed topics; up is called after the broker (re)connected.
type BrokerFactory func(deliver func(topic string, payload []byte), up func()) (broker, error)

// memoryBus connects the hubs of one process: the single-process mode's
// broker, and several instances inside one test.
type memoryBus struct {
	mu   sync.RWMutex
	subs map[string]map[*memoryBroker]int
}

// newMemoryBus returns an empty in-process bus.
func newMemoryBus() *memoryBus {
	return &memoryBus{subs: map[string]map[*memoryBroker]int{}}
}

// Factory returns a BrokerFactory whose brokers share this bus.
func (b *memoryBus) Factory() BrokerFactory {
	return func(deliver func(string, []byte), up func()) (broker, error) {
		return &memoryBroker{bus: b, deliver: deliver}, nil
	}
}

type memoryBroker struct {
	bus     *memoryBus
	deliver func(string, []byte)
	// mu serialises publishes of this broker so that they keep their order
	// at every subscriber.
	mu     sync.Mutex
	closed bool
}

var _ broker = (*memoryBroker)(nil)

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (m *memoryBroker) Publish(topic string, payload []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errBrokerAway
	}
	m.bus.mu.RLock()
	subs := make([]*memoryBroker, 0, len(m.bus.subs[topic]))
	for s := range m.bus.subs[topic] {
		subs = append(subs, s)
	}
	m.bus.mu.RUnlock()
	for _, s := range subs {
		s.deliver(topic, payload)
	}
	return nil
}

func (m *memoryBroker) Subscribe(topic string) <-chan struct{} {
	m.bus.mu.Lock()
	defer m.bus.mu.Unlock()
	if m.bus.subs[topic] == nil {
		m.bus.subs[topic] = map[*memoryBroker]int{}
	}
	m.bus.subs[topic][m]++
	return closedChan
}

func (m *memoryBroker) Unsubscribe(topic string) {
	m.bus.mu.Lock()
	defer m.bus.mu.Unlock()
	if s := m.bus.subs[topic]; s != nil {
		if s[m]--; s[m] <= 0 {
			delete(s, m)
		}
		if len(s) == 0 {
			delete(m.bus.subs, topic)
		}
	}
}

func (m *memoryBroker) Healthy() bool { return true }

func (m *memoryBroker) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.bus.mu.Lock()
	defer m.bus.mu.Unlock()
	for t, s := range m.bus.subs {
		delete(s, m)
		if len(s) == 0 {
			delete(m.bus.subs, t)
		}
	}
	return nil
}
