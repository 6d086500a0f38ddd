package main

import (
	"reflect"
	"testing"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/chat"
)

// Each side gets its own sockets' latencies and acks, sorted, whatever
// order the sockets come in.
func TestSidesKeepTheirOwnSockets(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	socks := []*sock{
		{role: chat.RoleAdvisor, lat: ms(9, 7), ackLat: ms(5)},
		{role: chat.RoleResident, lat: ms(3), ackLat: ms(2, 1)},
		{role: chat.RoleAdvisor, lat: ms(8), ackLat: ms(6, 4)},
		{role: chat.RoleResident, lat: ms(1, 2), ackLat: nil},
	}
	sides := sidesOf(socks)
	want := []sideTimes{
		{role: chat.RoleResident, lat: ms(1, 2, 3), ackLat: ms(1, 2)},
		{role: chat.RoleAdvisor, lat: ms(7, 8, 9), ackLat: ms(4, 5, 6)},
	}
	if !reflect.DeepEqual(sides, want) {
		t.Errorf("sides = %v, want %v", sides, want)
	}
	if p := pctOf(sides[1].ackLat, 0.99); p != 6*time.Millisecond {
		t.Errorf("advisors' ack p99 = %v, want 6ms", p)
	}
}
