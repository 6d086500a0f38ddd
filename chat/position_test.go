package chat

import "testing"

// TestQueuePositionIsTheOneTheQueueUses: a resident's place counts only
// the chats an advisor of their region takes before theirs (own region
// first, in order); they are never told "2nd" and taken first.
func TestQueuePositionIsTheOneTheQueueUses(t *testing.T) {
	east, west := int64(1), int64(2)
	conv := func(id int64, region *int64) Conversation { return Conversation{ID: id, RegionID: region} }
	cases := []struct {
		name  string
		queue []Conversation
		id    int64
		want  int
	}{
		{"alone", []Conversation{conv(1, &east)}, 1, 1},
		{"behind one of their region", []Conversation{conv(1, &east), conv(2, &east)}, 2, 2},
		{"behind one of another region", []Conversation{conv(1, &west), conv(2, &east)}, 2, 1},
		{"behind one of no region", []Conversation{conv(1, nil), conv(2, &east)}, 2, 1},
		{"no region waits for everyone earlier", []Conversation{conv(1, &west), conv(2, &east), conv(3, nil)}, 3, 3},
		{"not in the queue", []Conversation{conv(1, &east)}, 9, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := queuePosition(tc.queue, tc.id); got != tc.want {
				t.Errorf("position %d, want %d", got, tc.want)
			}
		})
	}
	// The advisor of the region takes them in exactly that order.
	s := &Service{}
	q := []Conversation{conv(1, nil), conv(2, &west), conv(3, &east), conv(4, &east)}
	items := s.queueItems(q, &east, q[0].QueuedAt, nil, "")
	for i, want := range []int64{3, 4} {
		if items[i].Conv != want || queuePosition(q, want) != i+1 {
			t.Errorf("take-next order %v: place %d is %d, told %d", items, i+1, items[i].Conv, queuePosition(q, want))
		}
	}
}
