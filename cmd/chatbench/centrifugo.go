package main

// The Centrifugo side of the side-by-side mode (sidebyside.go): two
// Centrifugo v6 nodes on one Redis, started from a binary given by path
// with a configuration written at run time, and a client for its
// bidirectional JSON protocol over WebSocket.
//
// The client is hand-written rather than github.com/centrifugal/centrifuge-go.
// That library would bring its module and the protocol module (protobuf
// and easyjson code) into the portal's go.mod for a benchmark tool only,
// and its callbacks, reconnect logic and internal queues would stand
// between the generator and the socket, where the portal's side has
// nothing. The benchmark needs four commands (connect, subscribe,
// publish, and the empty pong) and two kinds of reply (a command's result,
// a publication push), so both servers are driven by the same shape of
// code: one writer goroutine fed by the generator's schedule, one reader
// counting what arrives, on the same WebSocket library.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/asumisneuvonta/asumisneuvonta-portal/chat"
)

// cfNamespace is the namespace of the conversations' channels: one
// channel "chat:<n>" per conversation.
const cfNamespace = "chat"

// centrifugoConfig is a node's configuration: Redis engine, a namespace
// where connected clients may subscribe and subscribers may publish, with
// history (100 messages, 300 s) and forced recovery, the health endpoint
// to know when the node is up, and nothing sent anywhere (usage stats
// off), on loopback only.
func centrifugoConfig(port int, name, redisURL, prefix, secret string) map[string]any {
	return map[string]any{
		"http_server": map[string]any{"address": "127.0.0.1", "port": port},
		"log":         map[string]any{"level": "warn"},
		"engine": map[string]any{"type": "redis", "redis": map[string]any{
			"address": []string{redisURL}, "prefix": prefix,
		}},
		"client": map[string]any{
			"token":           map[string]any{"hmac_secret_key": secret},
			"allowed_origins": []string{origin},
		},
		"channel": map[string]any{"namespaces": []map[string]any{{
			"name":                         cfNamespace,
			"allow_subscribe_for_client":   true,
			"allow_publish_for_subscriber": true,
			"history_size":                 100,
			"history_ttl":                  "300s",
			"force_recovery":               true,
		}}},
		"health":      map[string]any{"enabled": true},
		"usage_stats": map[string]any{"disabled": true},
		"node":        map[string]any{"name": name},
		"shutdown":    map[string]any{"timeout": "5s"},
	}
}

// cfNode is one Centrifugo process.
type cfNode struct {
	cmd    *exec.Cmd
	addr   string
	exited chan struct{}
}

// freePort is a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startCentrifugo writes the node's configuration into dir and starts it;
// it returns once the node's health endpoint answers. The node gets
// SIGKILL if this process dies.
func startCentrifugo(ctx context.Context, bin, dir, name, redisURL, prefix, secret string) (*cfNode, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // the port may be taken meanwhile
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		cfg, _ := json.MarshalIndent(centrifugoConfig(port, name, redisURL, prefix, secret), "", "  ")
		path := filepath.Join(dir, "centrifugo-"+name+".json")
		if err := os.WriteFile(path, cfg, 0o600); err != nil {
			return nil, err
		}
		cmd := exec.Command(bin, "--config", path)
		cmd.Dir = dir
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		n := &cfNode{cmd: cmd, addr: "127.0.0.1:" + strconv.Itoa(port), exited: make(chan struct{})}
		go func() { _ = cmd.Wait(); close(n.exited) }()
		if lastErr = n.waitHealthy(ctx, 20*time.Second); lastErr == nil {
			return n, nil
		}
		n.stop()
	}
	return nil, fmt.Errorf("centrifugo %s did not start: %w", name, lastErr)
}

func (n *cfNode) waitHealthy(ctx context.Context, d time.Duration) error {
	deadline := time.Now().Add(d)
	c := http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-n.exited:
			return errors.New("exited")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if resp, err := c.Get("http://" + n.addr + "/health"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("no answer from /health")
}

// stop asks the node to stop (SIGTERM) and kills it after 10 s.
func (n *cfNode) stop() {
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.exited
	}
}

func (n *cfNode) rss() int64 { return (&server{cmd: n.cmd}).rss() }

// cfToken is a connection JWT (HS256) for user sub, valid for a day.
func cfToken(secret, sub string) string {
	enc := base64.RawURLEncoding
	claims, _ := json.Marshal(map[string]any{"sub": sub, "exp": time.Now().Add(24 * time.Hour).Unix()})
	msg := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(msg))
	return msg + "." + enc.EncodeToString(mac.Sum(nil))
}

// cfDeleteKeys removes what the nodes left in Redis under prefix
// (history streams and their meta, kept 720 h by default).
func cfDeleteKeys(ctx context.Context, redisURL, prefix string) {
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return
	}
	rc := redis.NewClient(opt)
	defer rc.Close()
	it := rc.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for it.Next(ctx) {
		if keys = append(keys, it.Val()); len(keys) == 500 {
			rc.Del(ctx, keys...)
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		rc.Del(ctx, keys...)
	}
}

// Command ids: connect 1, subscribe 2, then the publishes from
// cfFirstPublish on, so a publish reply's id gives its send time.
const cfFirstPublish = 3

// cfSock is a benchmark socket on Centrifugo. The generator and the
// counting use the embedded sock as for the portal; wmu lets the reader
// answer the server's pings while the writer sends.
type cfSock struct {
	*sock
	channel string
	wmu     sync.Mutex
}

type cfError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type cfReply struct {
	ID    uint32   `json:"id"`
	Error *cfError `json:"error"`
	Push  *struct {
		Pub *struct {
			Data struct {
				From string `json:"from"`
				TS   int64  `json:"ts"`
			} `json:"data"`
			Offset uint64 `json:"offset"`
		} `json:"pub"`
		Disconnect  json.RawMessage `json:"disconnect"`
		Unsubscribe json.RawMessage `json:"unsubscribe"`
	} `json:"push"`
	Subscribe *struct {
		Offset      uint64 `json:"offset"`
		Epoch       string `json:"epoch"`
		Recoverable bool   `json:"recoverable"`
	} `json:"subscribe"`
}

// dialCentrifugo connects with a JWT for user, subscribes to the
// conversation's channel and starts the socket's reader and writer.
func dialCentrifugo(addr, token string, conv int64, role string) (*sock, error) {
	h := http.Header{}
	h.Set("Origin", origin)
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 1024}
	var conn *websocket.Conn
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if conn, _, err = d.Dial("ws://"+addr+"/connection/websocket", h); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		return nil, err
	}
	channel := cfNamespace + ":" + strconv.FormatInt(conv, 10)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	call := func(id uint32, cmd string) (*cfReply, error) {
		if err := conn.WriteMessage(websocket.TextMessage, []byte(cmd)); err != nil {
			return nil, err
		}
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return nil, err
			}
			for line := range strings.SplitSeq(string(data), "\n") {
				var r cfReply
				if json.Unmarshal([]byte(line), &r) != nil || r.ID != id {
					continue
				}
				if r.Error != nil {
					return nil, fmt.Errorf("centrifugo: %d %s", r.Error.Code, r.Error.Message)
				}
				return &r, nil
			}
		}
	}
	tok, _ := json.Marshal(token)
	ch, _ := json.Marshal(channel)
	if _, err := call(1, `{"id":1,"connect":{"token":`+string(tok)+`,"name":"chatbench"}}`); err != nil {
		_ = conn.Close()
		return nil, err
	}
	r, err := call(2, `{"id":2,"subscribe":{"channel":`+string(ch)+`}}`)
	if err != nil || r.Subscribe == nil {
		_ = conn.Close()
		return nil, fmt.Errorf("subscribe %s: %v", channel, err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	s := &cfSock{
		sock:    &sock{conn: conn, conv: conv, role: role, last: int64(r.Subscribe.Offset), out: make(chan int64, 4096)},
		channel: string(ch),
	}
	go s.read()
	go s.write()
	return s.sock, nil
}

func (s *cfSock) write() {
	buf := make([]byte, 0, 256)
	for ts := range s.out {
		s.mu.Lock()
		s.seqN++
		s.sentAt = append(s.sentAt, ts)
		id := int64(s.seqN + cfFirstPublish - 1)
		s.mu.Unlock()
		buf = buf[:0]
		buf = append(buf, `{"id":`...)
		buf = strconv.AppendInt(buf, id, 10)
		buf = append(buf, `,"publish":{"channel":`...)
		buf = append(buf, s.channel...)
		buf = append(buf, `,"data":{"from":"`...)
		buf = append(buf, s.role...)
		buf = append(buf, `","ts":`...)
		buf = strconv.AppendInt(buf, ts, 10)
		buf = append(buf, `}}}`...)
		s.wmu.Lock()
		err := s.conn.WriteMessage(websocket.TextMessage, buf)
		s.wmu.Unlock()
		if err != nil {
			return
		}
	}
}

// read counts the channel's publications like the portal's reader counts
// messages: the stream offset stands for the conversation's seq
// (duplicates and gaps), a publication from the other side is delivered
// with its latency, and a publish reply is the ack (with history on, it
// comes once the publication is in the Redis stream).
func (s *cfSock) read() {
	for {
		_, data, err := s.conn.ReadMessage()
		if err != nil {
			s.closed.Store(true)
			return
		}
		now := time.Now().UnixNano()
		for line := range strings.SplitSeq(string(data), "\n") {
			if line == "" {
				continue
			}
			if line == "{}" { // ping: answer with the empty pong
				s.wmu.Lock()
				err := s.conn.WriteMessage(websocket.TextMessage, []byte("{}"))
				s.wmu.Unlock()
				if err != nil {
					return
				}
				continue
			}
			var r cfReply
			if json.Unmarshal([]byte(line), &r) != nil {
				continue
			}
			s.mu.Lock()
			switch {
			case r.Push != nil && r.Push.Pub != nil:
				off := int64(r.Push.Pub.Offset)
				switch {
				case off <= s.last:
					s.dups++
				case off > s.last+1:
					s.gaps++
				}
				s.last = max(s.last, off)
				if r.Push.Pub.Data.From != s.role {
					s.lat = append(s.lat, time.Duration(now-r.Push.Pub.Data.TS))
					s.latAt = append(s.latAt, now)
					s.delivered.Add(1)
				}
			case r.Push != nil:
				if r.Push.Disconnect != nil || r.Push.Unsubscribe != nil {
					s.errs++
				}
			case r.Error != nil:
				s.errs++
			case r.ID >= cfFirstPublish:
				s.acks++
				if n := int(r.ID) - cfFirstPublish + 1; n <= len(s.sentAt) {
					s.ackLat = append(s.ackLat, time.Duration(now-s.sentAt[n-1]))
				}
			}
			s.mu.Unlock()
		}
	}
}

// openCentrifugo opens n conversations' sockets, the resident's on a and
// the advisor's on b, 64 at a time, each user with a token of its own.
func openCentrifugo(a, b *cfNode, n int, secret string) ([]*sock, error) {
	socks, err := dialPairs(n, func(i, side int) (*sock, error) {
		conv := i + 1
		if side == 1 {
			return dialCentrifugo(b.addr, cfToken(secret, "a"+strconv.Itoa(conv)), int64(conv), chat.RoleAdvisor)
		}
		return dialCentrifugo(a.addr, cfToken(secret, "r"+strconv.Itoa(conv)), int64(conv), chat.RoleResident)
	})
	if err != nil {
		return socks, fmt.Errorf("dial centrifugo: %w", err)
	}
	return socks, nil
}
