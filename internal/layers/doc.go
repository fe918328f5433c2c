// Package layers holds no code: its test enforces the direction of the
// project's imports that DESIGN.md draws (cmd → verify → report, compare,
// release, rebuild, spec → archive), so that an arrow pointing back up the
// pipeline fails `make test` instead of waiting for a review.
package layers
