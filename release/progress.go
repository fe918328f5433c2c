package release

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// progressBar draws one line per download, redrawn with "\r" at most
// every progressInterval and ended with "\n". With no writer it draws
// nothing. Whether the writer is a terminal is the caller's business.
type progressBar struct {
	w     io.Writer
	name  string
	total int64 // -1 when unknown
	done  int64
	width int // of the last line drawn, to blank what a shorter one leaves
	last  time.Time
	now   func() time.Time
}

const progressInterval = 100 * time.Millisecond

func newProgressBar(w io.Writer, name string, total int64) *progressBar {
	return &progressBar{w: w, name: name, total: total, now: time.Now}
}

// Write counts bytes; it never fails.
func (p *progressBar) Write(b []byte) (int, error) {
	if p.w == nil {
		return len(b), nil
	}
	p.done += int64(len(b))
	if now := p.now(); now.Sub(p.last) >= progressInterval {
		p.last = now
		p.draw()
	}
	return len(b), nil
}

// finish draws the final state and ends the line.
func (p *progressBar) finish() {
	if p.w == nil {
		return
	}
	p.draw()
	io.WriteString(p.w, "\n")
}

func (p *progressBar) draw() {
	line := progressLine(p.name, p.done, p.total)
	width := utf8.RuneCountInString(line)
	pad := ""
	if width < p.width {
		pad = strings.Repeat(" ", p.width-width)
	}
	p.width = width
	io.WriteString(p.w, "\r"+line+pad)
}

// progressLine renders "name [=====>    ] 1.5 MiB / 3.0 MiB  50%", or
// "name 1.5 MiB" when the total is unknown.
func progressLine(name string, done, total int64) string {
	const nameWidth, barWidth = 32, 24
	if r := []rune(name); len(r) > nameWidth {
		name = "…" + string(r[len(r)-nameWidth+1:])
	}
	if total <= 0 {
		return fmt.Sprintf("%s %s", name, humanBytes(done))
	}
	frac := float64(min(done, total)) / float64(total)
	filled := int(frac * barWidth)
	bar := strings.Repeat("=", filled)
	if filled < barWidth {
		bar += ">" + strings.Repeat(" ", barWidth-filled-1)
	}
	return fmt.Sprintf("%s [%s] %s / %s %3d%%", name, bar, humanBytes(done), humanBytes(total), int(frac*100))
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, suffix := float64(n)/unit, "KiB"
	for _, s := range []string{"MiB", "GiB", "TiB"} {
		if v < unit {
			break
		}
		v, suffix = v/unit, s
	}
	return fmt.Sprintf("%.1f %s", v, suffix)
}
