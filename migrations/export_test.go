package migrations

// Provider lets the tests step through the versions one by one.
var Provider = provider
