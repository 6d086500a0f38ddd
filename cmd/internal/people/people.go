// Package people is the simulated people of the load and fault tools
// (cmd/soak, the fault suite of cmd/portal): residents and advisors
// written straight into the database, each with a live login session, and
// their requests to a portal as a browser sends them.
package people

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
)

// Person is someone with a live login session.
type Person struct {
	ID     int64
	Cookie string // the session cookie's value
	CSRF   string // the session's form token
	Region int64
}

// Area is one postal code of a region.
type Area struct {
	Region     int64
	PostalCode string
}

// Areas returns one postal code of each region (the demo data's).
func Areas(ctx context.Context, db *database.DB) ([]Area, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT region_id, min(postal_code) FROM postal_code_regions GROUP BY region_id ORDER BY region_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var areas []Area
	for rows.Next() {
		var a Area
		if err := rows.Scan(&a.Region, &a.PostalCode); err != nil {
			return nil, err
		}
		areas = append(areas, a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(areas) == 0 {
		return nil, errors.New("no postal code regions: the demo data was not written")
	}
	return areas, nil
}

// Create writes a user with role — a resident living in a, or staff of
// a's region — under issuer and subject, and a login session of a day.
func Create(ctx context.Context, db *database.DB, role auth.Role, issuer, subject string, a Area) (Person, error) {
	u := &auth.User{Issuer: issuer, Subject: subject, Role: role, Name: "Test " + subject, GivenName: subject,
		Email: subject + "@example.invalid", Phone: "040 123 4567"}
	if role == auth.RoleResident {
		u.PostalCode = a.PostalCode
	} else {
		u.RegionID = &a.Region
	}
	u, err := auth.NewUsers(db.Gorm).Upsert(ctx, u, true)
	if err != nil {
		return Person{}, fmt.Errorf("people: %s: %w", subject, err)
	}
	p := Person{ID: u.ID, Cookie: rand.Text(), CSRF: rand.Text(), Region: a.Region}
	sum := sha256.Sum256([]byte(p.Cookie))
	now := time.Now().UTC()
	err = auth.NewDBSessions(db.Gorm).Create(ctx, &auth.Session{ID: hex.EncodeToString(sum[:]), UserID: u.ID, CSRFToken: p.CSRF,
		Provider: "resident", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(24 * time.Hour)})
	if err != nil {
		return Person{}, fmt.Errorf("people: session of %s: %w", subject, err)
	}
	return p, nil
}

// Header is what a browser of who sends to the portal at base: the session
// cookie, Finnish, and for a request with a body its type and origin.
func (who Person) Header(h http.Header, base, method, ctype string) {
	h.Set("Cookie", "asn_session="+who.Cookie)
	h.Set("Accept-Language", "fi")
	h.Set("Accept", "text/html")
	if method != http.MethodGet && method != http.MethodHead {
		h.Set("Content-Type", ctype)
		h.Set("Origin", base)
	}
}

// Request sends one request as who to base+path, within 15 s, and returns
// the status, the Location header and the page. Whether redirects are
// followed is c's choice.
func Request(ctx context.Context, c *http.Client, base string, who Person, method, path string, body io.Reader, ctype string) (int, string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return 0, "", "", err
	}
	who.Header(req.Header, base, method, ctype)
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b), err
}

// Frame is what the tools read of the chat's server frames
// (chat/PROTOCOL.md).
type Frame struct {
	Type  string `json:"type"`
	Conv  int64  `json:"conv"`
	Seq   int64  `json:"seq"`
	CID   string `json:"cid"`
	From  string `json:"from"`
	Kind  string `json:"kind"`
	Event string `json:"event"`
	Code  string `json:"code"`
}
