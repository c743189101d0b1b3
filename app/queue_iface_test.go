package app_test

import (
	"github.com/benchrig/benchrig/app"
	"github.com/benchrig/benchrig/web"
)

// The queue is the server's run lifecycle.
var _ web.Runs = (*app.Queue)(nil)
