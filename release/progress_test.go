package release

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	for _, tt := range []struct {
		name        string
		done, total int64
		want        string
	}{
		{"garage", 0, 2048, "garage [>                       ] 0 B / 2.0 KiB   0%"},
		{"garage", 1024, 2048, "garage [============>           ] 1.0 KiB / 2.0 KiB  50%"},
		{"garage", 3 << 30, 3 << 30, "garage [========================] 3.0 GiB / 3.0 GiB 100%"},
		{"garage", 1536 << 10, -1, "garage 1.5 MiB"},
		{"nimbus-eth2_Linux_arm64v8_25.1.0_0123abcd.tar.gz", 5, -1, "…_arm64v8_25.1.0_0123abcd.tar.gz 5 B"},
	} {
		if got := progressLine(tt.name, tt.done, tt.total); got != tt.want {
			t.Errorf("progressLine(%q, %d, %d) =\n%q\nwant\n%q", tt.name, tt.done, tt.total, got, tt.want)
		}
	}
}

// TestProgressThrottle: redraws come at most every progressInterval, the
// last state is always drawn, a shorter line blanks the longer one, and
// the bar ends its line.
func TestProgressThrottle(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newProgressBar(&buf, "a", -1)
	p.now = func() time.Time { return now }
	for range 100 {
		if _, err := p.Write(make([]byte, 1000)); err != nil { // same instant: one draw
			t.Fatal(err)
		}
	}
	now = now.Add(progressInterval)
	if _, err := p.Write(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	p.finish()
	want := "\ra 1000 B" + "\ra 97.7 KiB" + "\ra 97.7 KiB\n"
	if got := buf.String(); got != want {
		t.Errorf("progress output = %q, want %q", got, want)
	}

	buf.Reset()
	p = newProgressBar(&buf, "a", -1)
	p.done = 2000
	p.draw()
	p.done = 5
	p.draw()
	if got := buf.String(); got != "\ra 2.0 KiB\ra 5 B    " {
		t.Errorf("shorter redraw = %q, want the old line blanked", got)
	}
}

// TestFetchProgress: a download draws its bar and ends the line; the
// cache hit that follows draws nothing.
func TestFetchProgress(t *testing.T) {
	ts := newTestServer(t)
	body := content("garage")
	ts.file("/garage", body)
	opts := testOptions()
	var buf bytes.Buffer
	opts.Progress = &buf
	src := mustHTTPSource(t, ts.URL, opts)
	f := NewFetcher(src, t.TempDir(), opts)
	if _, err := f.Fetch(context.Background(), src.Asset("garage")); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, "\r") || !strings.HasSuffix(out, "\n") {
		t.Errorf("progress output %q does not start with \\r and end with \\n", out)
	}
	last := out[strings.LastIndex(out, "\r")+1:]
	if want := progressLine("garage", int64(len(body)), int64(len(body))) + "\n"; last != want {
		t.Errorf("final progress line = %q, want %q", last, want)
	}
	buf.Reset()
	if _, err := f.Fetch(context.Background(), src.Asset("garage")); err != nil || buf.Len() != 0 {
		t.Errorf("cache hit drew %q (%v)", buf.String(), err)
	}
}
