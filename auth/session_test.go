package auth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

// testStores runs fn against the database store on SQLite and PostgreSQL
// and against the Redis store.
func testStores(t *testing.T, fn func(t *testing.T, s SessionStore, userID int64)) {
	t.Run("database", func(t *testing.T) {
		dbtest.Each(t, func(t *testing.T, db *database.DB) {
			u, err := NewUsers(db.Gorm).Upsert(context.Background(), &User{Issuer: "i", Subject: "s", Role: RoleResident}, true)
			if err != nil {
				t.Fatal(err)
			}
			fn(t, NewDBSessions(db.Gorm), u.ID)
		})
	})
	t.Run("redis", func(t *testing.T) {
		rdb, prefix := dbtest.Redis(t)
		fn(t, NewRedisSessions(rdb, prefix, 30*time.Minute), 1)
	})
}

func TestSessionStores(t *testing.T) {
	testStores(t, func(t *testing.T, s SessionStore, userID int64) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Second)
		sess := &Session{ID: hashToken("cookie"), UserID: userID, CSRFToken: "c", Provider: "resident", ProviderSID: "sid-1",
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.Create(ctx, sess); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, sess.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.UserID != userID || got.CSRFToken != "c" || !got.ExpiresAt.Equal(sess.ExpiresAt) {
			t.Errorf("got %+v", got)
		}
		later := now.Add(5 * time.Minute)
		if err := s.Touch(ctx, sess.ID, later); err != nil {
			t.Fatal(err)
		}
		if got, err = s.Get(ctx, sess.ID); err != nil || !got.LastSeenAt.Equal(later) {
			t.Errorf("after touch: %v, %v", got, err)
		}
		if err := s.Delete(ctx, sess.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, sess.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("after delete: %v, want ErrNotFound", err)
		}
		// Touching a deleted session must not bring it back.
		if err := s.Touch(ctx, sess.ID, later); err != nil && !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, sess.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("touch resurrected a deleted session: %v", err)
		}
	})
}

// TestDeleteMatching: a back-channel logout ends the sessions of one
// provider session (sid), or all of a user's sessions from the provider,
// and nothing else.
func TestDeleteMatching(t *testing.T) {
	testStores(t, func(t *testing.T, s SessionStore, userID int64) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Second)
		mk := func(cookie, provider, sid string) string {
			t.Helper()
			sess := &Session{ID: hashToken(cookie), UserID: userID, CSRFToken: "c", Provider: provider, ProviderSID: sid,
				CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
			if err := s.Create(ctx, sess); err != nil {
				t.Fatal(err)
			}
			return sess.ID
		}
		a1, a2 := mk("a1", "resident", "sid-a"), mk("a2", "resident", "sid-a")
		b := mk("b", "resident", "sid-b")
		staff := mk("s", "staff", "sid-a") // the same sid from another client
		alive := func(id string) bool {
			_, err := s.Get(ctx, id)
			if err != nil && !errors.Is(err, ErrNotFound) {
				t.Fatal(err)
			}
			return err == nil
		}

		gone, err := s.DeleteMatching(ctx, SessionMatch{Provider: "resident", SID: "sid-a"})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(gone)
		want := []string{a1, a2}
		slices.Sort(want)
		if !slices.Equal(gone, want) || alive(a1) || alive(a2) || !alive(b) || !alive(staff) {
			t.Fatalf("by sid: ended %v, want %v; b alive %v, staff alive %v", gone, want, alive(b), alive(staff))
		}
		if gone, err := s.DeleteMatching(ctx, SessionMatch{Provider: "resident", SID: "sid-a"}); err != nil || len(gone) != 0 {
			t.Errorf("again: %v, %v; want nothing", gone, err)
		}
		gone, err = s.DeleteMatching(ctx, SessionMatch{Provider: "resident", UserID: userID})
		if err != nil || !slices.Equal(gone, []string{b}) || alive(b) || !alive(staff) {
			t.Errorf("by user: ended %v, %v; want [b] and the staff session alive", gone, err)
		}
	})
}

func TestPickRole(t *testing.T) {
	all := []Role{RoleResident, RoleAdvisor, RoleAdmin}
	staff := []Role{RoleAdvisor, RoleAdmin}
	cases := []struct {
		name    string
		claim   any
		allowed []Role
		want    Role
		err     bool
	}{
		{"list", []any{"advisor"}, all, RoleAdvisor, false},
		{"highest wins", []any{"resident", "admin", "advisor"}, all, RoleAdmin, false},
		{"space separated", "resident advisor", all, RoleAdvisor, false},
		{"resident provider ignores claims", []any{"admin"}, []Role{RoleResident}, RoleResident, false},
		{"staff provider refuses residents", []any{"resident"}, staff, "", true},
		{"unknown only", []any{"superuser"}, all, "", true},
		{"missing", nil, all, "", true},
		{"wrong type", 42.0, all, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pickRole(tc.claim, nil, tc.allowed)
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("pickRole = %q, %v; want %q, err=%v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestSafeReturn(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "/my"},
		{"/booking?x=1", "/booking?x=1"},
		{"/booking/42/move#top", "/booking/42/move#top"},
		{"/%2F%2Fevil.example", "/%2F%2Fevil.example"}, // an escaped slash stays in the path
		{"//evil.example/", "/my"},
		{"///evil.example/", "/my"},
		{"/\\evil.example", "/my"},
		{"\\\\evil.example", "/my"},
		{"/\t/evil.example/", "/my"}, // what ?return=/%09/evil.example/ decodes to
		{"/\n/evil.example/", "/my"},
		{"/\r/evil.example/", "/my"},
		{"\t//evil.example/", "/my"},
		{" //evil.example/", "/my"},
		{"/ /evil.example/", "/my"},
		{"/\x00/evil", "/my"},
		{"/\u0085/evil", "/my"},
		{"/\u00a0/evil", "/my"},
		{"https://evil.example", "/my"},
		{"https:/evil.example", "/my"},
		{"javascript:alert(1)", "/my"},
		{"evil.example", "/my"},
		{"/ok\r\nSet-Cookie: x", "/my"},
		{"/" + strings.Repeat("a", 3000), "/my"},
	}
	for _, tc := range cases {
		if got := safeReturn(tc.in); got != tc.want {
			t.Errorf("safeReturn(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestRolesFromNestedClaimsAndRoleMap: the role is found at a dotted path
// (Keycloak's realm_access.roles, resource_access.<client>.roles) and the
// provider's names are mapped to the portal's.
func TestRolesFromNestedClaimsAndRoleMap(t *testing.T) {
	claims := map[string]any{
		"realm_access":    map[string]any{"roles": []any{"offline_access", "asumisneuvoja"}},
		"resource_access": map[string]any{"portal": map[string]any{"roles": []any{"asumisneuvonta-admin"}}},
		"roles":           []any{"advisor"},
		"dotted.name":     "admin",
	}
	roleMap := map[string]Role{"asumisneuvoja": RoleAdvisor, "asumisneuvonta-admin": RoleAdmin}
	staff := []Role{RoleAdvisor, RoleAdmin}
	cases := []struct {
		path string
		want Role
		err  bool
	}{
		{"realm_access.roles", RoleAdvisor, false},
		{"resource_access.portal.roles", RoleAdmin, false},
		{"roles", RoleAdvisor, false},
		{"dotted.name", RoleAdmin, false},
		{"realm_access.missing", "", true},
		{"resource_access.other.roles", "", true},
	}
	for _, tc := range cases {
		got, err := pickRole(claimAt(claims, tc.path), roleMap, staff)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("%s: %q, %v; want %q, error %v", tc.path, got, err, tc.want, tc.err)
		}
	}
	if got, err := pickRole(claimAt(claims, "realm_access.roles"), nil, staff); err == nil {
		t.Errorf("without the map the provider's own names grant %q", got)
	}
}

// TestScopesAskedFor: openid always first, then the configured scopes, or
// profile and email when none are configured.
func TestScopesAskedFor(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, "openid profile email"},
		{[]string{"profile", "email", "roles"}, "openid profile email roles"},
		{[]string{"openid", "groups", "groups"}, "openid groups"},
		{[]string{}, "openid"},
	} {
		if got := strings.Join(scopes(tc.in), " "); got != tc.want {
			t.Errorf("scopes(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
