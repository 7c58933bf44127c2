package digitsdata

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// barWidth is the number of characters between the brackets of the bar.
const barWidth = 30

// redrawEvery keeps the terminal bar to about ten redraws a second: a step
// takes tens of microseconds (the MLP) to a millisecond or two (the CNN), and
// redrawing after each would spend more time writing to the terminal than
// training.
const redrawEvery = 100 * time.Millisecond

// Progress reports training epoch by epoch. On a terminal it redraws one
// line in place with a bar of the batches done; anywhere else (a pipe, a CI
// log) it prints one plain line per epoch and nothing in between, so that a
// log holds no carriage returns.
type Progress struct {
	w        io.Writer
	terminal bool
	epochs   int // epochs in the whole run, for "epoch 3/20"
	batches  int // batches in one epoch
	now      func() time.Time
	drawn    time.Time // when the bar was last redrawn
}

// NewProgress returns a report of epochs epochs of batches batches each to
// w, drawn in place for a terminal (see IsTerminal), in plain lines if not.
func NewProgress(w io.Writer, terminal bool, epochs, batches int) *Progress {
	return &Progress{w: w, terminal: terminal, epochs: epochs, batches: batches, now: time.Now}
}

// IsTerminal reports whether f is a character device, as a terminal is.
// (So is /dev/null, where a redrawn line costs nothing.)
func IsTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// Batch notes that done of the epoch's batches are finished.
func (p *Progress) Batch(epoch, done int) {
	if !p.terminal {
		return
	}
	if now := p.now(); now.Sub(p.drawn) >= redrawEvery {
		p.drawn = now
		fmt.Fprintf(p.w, "\r%s", p.bar(epoch, done))
	}
}

// EpochDone ends the epoch's line with its mean training loss and the
// accuracy on the held-out samples.
func (p *Progress) EpochDone(epoch int, loss, accuracy float64) {
	stats := fmt.Sprintf("loss %.4f  held-out accuracy %.2f%%", loss, 100*accuracy)
	if p.terminal {
		fmt.Fprintf(p.w, "\r%s  %s\n", p.bar(epoch, p.batches), stats)
		p.drawn = time.Time{} // draw the next epoch's first batch at once
		return
	}
	fmt.Fprintf(p.w, "%s  %s\n", p.epoch(epoch), stats)
}

// epoch is "epoch  3/20", its width the same for every epoch of the run.
func (p *Progress) epoch(epoch int) string {
	width := len(fmt.Sprint(p.epochs))
	return fmt.Sprintf("epoch %*d/%d", width, epoch, p.epochs)
}

// bar is "epoch  3/20 [=========>          ] 15/44", the same width
// whatever the counts, so that each redraw covers the one before.
func (p *Progress) bar(epoch, done int) string {
	filled := barWidth * done / p.batches
	var b strings.Builder
	b.WriteString(strings.Repeat("=", filled))
	if filled < barWidth {
		b.WriteString(">")
		b.WriteString(strings.Repeat(" ", barWidth-filled-1))
	}
	width := len(fmt.Sprint(p.batches))
	return fmt.Sprintf("%s [%s] %*d/%d", p.epoch(epoch), b.String(), width, done, p.batches)
}
