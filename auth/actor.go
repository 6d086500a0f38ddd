package auth

import "context"

// Actor is who is acting in a request: the logged-in user (UserID 0 for an
// anonymous visitor), their role and the request id. The session middleware
// puts it into the request's context, so services, the access log and
// benchmarks learn who acts from a context.Context, with no HTTP request.
type Actor struct {
	UserID    int64
	Role      Role
	RequestID string
}

// Staff reports whether the actor is logged in with a staff role.
func (a Actor) Staff() bool { return a.UserID != 0 && a.Role.Staff() }

type actorKey struct{}

// WithActor returns ctx carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor ctx carries, the zero Actor (anonymous, no
// request id) if none.
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}
