package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// TestMetricsSurviveReusedRequestMemory: Fiber reuses a request's memory
// for the next one. Labels kept from it used to change under Prometheus
// ("GETT", "PUT" for a GET) until /metrics answered 500. After a few
// hundred mixed concurrent requests, /metrics answers 200 and every method
// label is a real method.
func TestMetricsSurviveReusedRequestMemory(t *testing.T) {
	p := startPortal(t, nil)
	type call struct{ method, path string }
	calls := []call{
		{"GET", "/"}, {"POST", "/"}, {"GET", "/healthz"}, {"PUT", "/my"}, {"DELETE", "/"},
		{"GET", "/no-such-page"}, {"POST", "/login"}, {"HEAD", "/"}, {"OPTIONS", "/"}, {"PATCH", "/desk"},
		{"GET", "/info/accessibility"}, {"POST", "/booking"},
	}
	const total, workers = 360, 6
	jobs := make(chan call)
	var wg sync.WaitGroup
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				req, err := http.NewRequest(c.method, p.url+c.path, strings.NewReader("a=1"))
				if err != nil {
					t.Error(err)
					continue
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	for i := range total {
		jobs <- calls[i%len(calls)]
	}
	close(jobs)
	wg.Wait()
	client.CloseIdleConnections()

	rec := httptest.NewRecorder()
	p.s.metrics.Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics answered %d: %.300s", rec.Code, rec.Body.String())
	}
	real := map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true, "OTHER": true}
	counted := 0
	for _, m := range regexp.MustCompile(`portal_http_requests_total\{[^}]*method="([^"]*)"[^}]*\} (\d+)`).FindAllStringSubmatch(rec.Body.String(), -1) {
		if !real[m[1]] {
			t.Errorf("method label %q", m[1])
		}
		var n int
		fmt.Sscan(m[2], &n)
		counted += n
	}
	if counted < total {
		t.Errorf("%d requests counted, want at least %d", counted, total)
	}
	// The chat's storage times are there for the operator too.
	for _, name := range []string{"portal_chat_store_wait_seconds", "portal_chat_store_seconds",
		"portal_chat_store_batch_messages", "portal_chat_forward_seconds"} {
		if !strings.Contains(rec.Body.String(), "\n"+name+"_count ") {
			t.Errorf("/metrics has no %s", name)
		}
	}
}
