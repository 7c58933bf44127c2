package digitsdata

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// simulate reports epochs of batches to p, with made-up losses and
// accuracies.
func simulate(p *Progress, epochs, batches int) {
	for epoch := 1; epoch <= epochs; epoch++ {
		for done := 1; done <= batches; done++ {
			p.Batch(epoch, done)
		}
		p.EpochDone(epoch, 1/float64(epoch), 0.9+float64(epoch)/100)
	}
}

// TestProgressLog checks what a log or a pipe gets: one plain line per
// epoch, without carriage returns or escape codes.
func TestProgressLog(t *testing.T) {
	var out bytes.Buffer
	simulate(NewProgress(&out, false, 3, 44), 3, 44)
	want := "" +
		"epoch 1/3  loss 1.0000  held-out accuracy 91.00%\n" +
		"epoch 2/3  loss 0.5000  held-out accuracy 92.00%\n" +
		"epoch 3/3  loss 0.3333  held-out accuracy 93.00%\n"
	if out.String() != want {
		t.Errorf("got\n%q\nwant\n%q", out.String(), want)
	}
}

// TestProgressEpochWidth checks that epoch numbers are padded to the width
// of the last, so that the columns line up.
func TestProgressEpochWidth(t *testing.T) {
	var out bytes.Buffer
	NewProgress(&out, false, 30, 44).EpochDone(7, 0.25, 0.95)
	if want := "epoch  7/30  loss 0.2500  held-out accuracy 95.00%\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

// TestProgressTerminal checks the terminal's bar with a clock that stands
// still: each epoch draws its first batch, is not redrawn within the
// 100 ms that follow, and ends with the full bar, the results and a newline.
func TestProgressTerminal(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out, true, 2, 4)
	now := time.Unix(0, 0)
	p.now = func() time.Time { return now }
	simulate(p, 2, 4)
	want := "" +
		"\repoch 1/2 [=======>                      ] 1/4" +
		"\repoch 1/2 [==============================] 4/4  loss 1.0000  held-out accuracy 91.00%\n" +
		"\repoch 2/2 [=======>                      ] 1/4" +
		"\repoch 2/2 [==============================] 4/4  loss 0.5000  held-out accuracy 92.00%\n"
	if out.String() != want {
		t.Errorf("got\n%q\nwant\n%q", out.String(), want)
	}
}

// TestProgressTerminalRate checks that the bar is redrawn at most every
// 100 ms: with batches 40 ms apart, every third batch.
func TestProgressTerminalRate(t *testing.T) {
	var out bytes.Buffer
	p := NewProgress(&out, true, 1, 30)
	now := time.Unix(0, 0)
	p.now = func() time.Time { now = now.Add(40 * time.Millisecond); return now }
	simulate(p, 1, 30)
	// Batches 1, 4, 7, ..., 28 (ten draws), then the end of the epoch.
	if n := strings.Count(out.String(), "\r"); n != 11 {
		t.Errorf("%d redraws, want 11:\n%q", n, out.String())
	}
	if !strings.HasSuffix(out.String(), "\n") || strings.Count(out.String(), "\n") != 1 {
		t.Errorf("want one line for the epoch, ended by a newline:\n%q", out.String())
	}
}
