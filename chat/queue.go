package chat

import (
	"context"
	"slices"
	"time"
)

// The live queue as advisors and residents see it: queue frames, a
// resident's place and wait, the rows of the desk.

// refreshQueue sends the live queue to this instance's advisors and each
// waiting resident their place in it.
func (s *Service) refreshQueue(ctx context.Context) {
	// The queue or an advisor's status changed here or on another
	// instance: the header's "Chat" link is worked out again.
	s.openNow.forget()
	var staff []*client
	waiting := map[*client][]int64{}
	s.hub.forClients(func(c *client) {
		if c.p.Staff() {
			staff = append(staff, c)
		} else if ids := c.joinedIDs(); len(ids) > 0 {
			waiting[c] = ids
		}
	})
	if len(staff) == 0 && len(waiting) == 0 {
		return
	}
	q, err := s.store.Queue(ctx)
	if err != nil {
		s.log.Warn("chat: queue refresh", "err", err)
		return
	}
	avail, err := s.store.AvailableAdvisors(ctx)
	if err != nil {
		s.log.Warn("chat: queue refresh", "err", err)
		return
	}
	now := s.now()
	for c, ids := range waiting {
		for _, id := range ids {
			if pos := queuePosition(q, id); pos > 0 {
				c.enqueue(mustJSON(queueFrame{Type: typeQueue, Conv: id, Position: pos,
					Estimate: s.estimate(pos, avail), Available: avail}))
			}
		}
	}
	if len(staff) == 0 {
		return
	}
	ids := make([]int64, 0, len(staff))
	for _, c := range staff {
		if !slices.Contains(ids, c.p.UserID) {
			ids = append(ids, c.p.UserID)
		}
	}
	states, err := s.store.Advisors(ctx, ids, s.cfg.Capacity)
	if err != nil {
		s.log.Warn("chat: queue refresh", "err", err)
		return
	}
	names := s.regionNames(ctx)
	for _, c := range staff {
		a := states[c.p.UserID]
		f := queueFrame{Type: typeQueue, Available: avail, CanAccept: a.CanAccept(),
			Status: a.Status, Active: a.Active, Capacity: a.Capacity}
		f.Items = s.queueItems(q, c.p.RegionID, now, names, "")
		c.enqueue(mustJSON(f))
	}
}

// queuePosition is a conversation's place among those waiting for its
// region (or for any region), 0 if it is not waiting.
func queuePosition(q []Conversation, id int64) int {
	i := slices.IndexFunc(q, func(c Conversation) bool { return c.ID == id })
	if i < 0 {
		return 0
	}
	// Advisors take their own region's chats first, in the order they
	// came. A chat with a region is next when no earlier chat of that region
	// waits: earlier chats of other regions, or of none, go to other
	// advisors first. A chat without a region waits for every earlier one.
	pos := 1
	for _, c := range q[:i] {
		if own := q[i].RegionID; own == nil || (c.RegionID != nil && *c.RegionID == *own) {
			pos++
		}
	}
	return pos
}

func (s *Service) estimate(pos, available int) int {
	return (pos*s.cfg.MinutesPerPlace + max(available, 1) - 1) / max(available, 1)
}

// queueItems orders the queue for an advisor: their region first, then
// the others, each longest waiting first.
func (s *Service) queueItems(q []Conversation, region *int64, now time.Time, names map[int64]string, lang string) []queueItem {
	items := make([]queueItem, 0, len(q))
	for _, c := range q {
		it := queueItem{Conv: c.ID, Topic: c.Topic, Lang: c.Lang, Identified: c.Identified(),
			Since: c.QueuedAt, Waiting: int(now.Sub(c.QueuedAt).Seconds()), Minutes: int(now.Sub(c.QueuedAt).Minutes())}
		if c.RegionID != nil {
			it.Region = names[*c.RegionID]
			it.OwnRegion = region != nil && *region == *c.RegionID
		}
		items = append(items, it)
	}
	slices.SortStableFunc(items, func(a, b queueItem) int {
		switch {
		case a.OwnRegion && !b.OwnRegion:
			return -1
		case b.OwnRegion && !a.OwnRegion:
			return 1
		}
		return 0
	})
	return items
}

func (s *Service) regionNames(ctx context.Context) map[int64]string {
	out := map[int64]string{}
	if s.regions == nil {
		return out
	}
	rs, err := s.regions.List(ctx)
	if err != nil {
		s.log.Warn("chat: regions", "err", err)
		return out
	}
	for _, r := range rs {
		out[r.ID] = r.Code
	}
	return out
}
