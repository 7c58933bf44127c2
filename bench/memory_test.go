package bench

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/nngen/nngen/bench/w1"
	"github.com/nngen/nngen/bench/w2"
	"github.com/nngen/nngen/bench/w2b256"
	"github.com/nngen/nngen/bench/w3"
	"github.com/nngen/nngen/bench/w4"
)

// The memory item of the Performance issue: a generated model should hold
// its parameters, gradients, optimizer state and the activation slots of its
// buffer plan, and nothing more. TestMemoryReport measures what each
// workload's Model holds (the struct and every heap buffer it owns), checks
// the struct against the sizes derived here from the layer shapes, checks
// that training allocates nothing, and measures the resident memory a
// training process gains, in a fresh child process per workload.
// bench/memory.sh runs it next to bench/torch_memory.py.

// memWorkload is one workload with what the test expects of its Model.
type memWorkload struct {
	name   string
	batch  int      // samples per call; 1 for W1's single sample
	layers [][2]int // (in, out) of each linear layer, in order
	// widths gives the per-sample width of each forward value the plan
	// stores; the gradient dX and dX.pre of a value X have its width.
	widths map[string]int
	// slots is the buffer plan as the generated code comments it: the
	// values that share each slot, slot0 first.
	slots [][]string
	// hyper is the optimizer's hyperparameter fields (float32 each).
	hyper []string
	// stateElems is the optimizer state's elements: 0 for SGD without
	// momentum (no momentum buffer, no step count).
	stateElems int
	sizeof     uintptr // unsafe.Sizeof(Model{})
	newModel   func() any
	// trainer allocates the inputs of a training step for m and returns the
	// step and the bytes of those inputs.
	trainer func(m any) (step func() float32, inputBytes int)
}

// size is the elements of the planned value name ("h1", "dh1.pre", "loss").
func (w *memWorkload) size(name string) (int, bool) {
	if name == "loss" {
		return 1, true
	}
	base := strings.TrimSuffix(name, ".pre")
	if _, ok := w.widths[base]; !ok {
		base = strings.TrimPrefix(base, "d")
	}
	width, ok := w.widths[base]
	return w.batch * width, ok
}

// classInputs fills a batch of inputs x and class labels as bench_test.go does.
func classInputs[X ~[][784]float32, L ~[]int](x X, labels L) {
	for n := range x {
		fill(x[n][:], uint64(n))
		labels[n] = n % 10
	}
}

var memWorkloads = []*memWorkload{
	{
		name: "W1", batch: 1,
		layers: [][2]int{{4, 5}, {5, 7}, {7, 3}},
		widths: map[string]int{"h1": 5, "h2": 7, "layer3": 3},
		slots:  [][]string{{"h1"}, {"h2", "dh1.pre"}, {"layer3", "dh2", "dh1"}, {"loss"}, {"dlayer3", "dh2.pre"}},
		hyper:  []string{"LR", "WeightDecay"},
		sizeof: unsafe.Sizeof(w1.Model{}),
		newModel: func() any {
			return w1.New(1)
		},
		trainer: func(m any) (func() float32, int) {
			x, t := new([4]float32), new([3]float32)
			fill(x[:], 1)
			fill(t[:], 2)
			return func() float32 { return m.(*w1.Model).TrainStep(x, t) }, int(unsafe.Sizeof(*x) + unsafe.Sizeof(*t))
		},
	},
	{
		name: "W2", batch: 32,
		layers: [][2]int{{784, 128}, {128, 10}},
		widths: map[string]int{"h1": 128, "fc2": 10},
		slots:  [][]string{{"h1"}, {"fc2", "dh1"}, {"loss"}, {"dfc2", "dh1.pre"}},
		hyper:  []string{"LR", "WeightDecay"},
		sizeof: unsafe.Sizeof(w2.Model{}),
		newModel: func() any {
			return w2.New(1)
		},
		trainer: func(m any) (func() float32, int) {
			x, l := new([32][784]float32), new([32]int)
			classInputs(x[:], l[:])
			return func() float32 { return m.(*w2.Model).TrainStep(x, l) }, int(unsafe.Sizeof(*x) + unsafe.Sizeof(*l))
		},
	},
	{
		name: "W2Batch256", batch: 256,
		layers: [][2]int{{784, 128}, {128, 10}},
		widths: map[string]int{"h1": 128, "fc2": 10},
		slots:  [][]string{{"h1"}, {"fc2", "dh1"}, {"loss"}, {"dfc2", "dh1.pre"}},
		hyper:  []string{"LR", "WeightDecay"},
		sizeof: unsafe.Sizeof(w2b256.Model{}),
		newModel: func() any {
			return w2b256.New(1)
		},
		trainer: func(m any) (func() float32, int) {
			x, l := new([256][784]float32), new([256]int)
			classInputs(x[:], l[:])
			return func() float32 { return m.(*w2b256.Model).TrainStep(x, l) }, int(unsafe.Sizeof(*x) + unsafe.Sizeof(*l))
		},
	},
	{
		name: "W3", batch: 64,
		layers: [][2]int{{784, 512}, {512, 512}, {512, 10}},
		widths: map[string]int{"h1": 512, "h2": 512, "fc3": 10},
		slots:  [][]string{{"h1"}, {"h2", "dh1.pre"}, {"fc3", "dh2", "dh1"}, {"loss"}, {"dfc3", "dh2.pre"}},
		hyper:  []string{"LR", "WeightDecay"},
		sizeof: unsafe.Sizeof(w3.Model{}),
		newModel: func() any {
			return w3.New(1)
		},
		trainer: func(m any) (func() float32, int) {
			x, l := new([64][784]float32), new([64]int)
			classInputs(x[:], l[:])
			return func() float32 { return m.(*w3.Model).TrainStep(x, l) }, int(unsafe.Sizeof(*x) + unsafe.Sizeof(*l))
		},
	},
	{
		name: "W4", batch: 256,
		layers: [][2]int{{1024, 1024}, {1024, 1024}},
		widths: map[string]int{"h1": 1024, "fc2": 1024},
		slots:  [][]string{{"h1"}, {"fc2", "dh1"}, {"loss"}, {"dfc2", "dh1.pre"}},
		hyper:  []string{"LR", "WeightDecay"},
		sizeof: unsafe.Sizeof(w4.Model{}),
		newModel: func() any {
			return w4.New(1)
		},
		trainer: func(m any) (func() float32, int) {
			x, t := new([256][1024]float32), new([256][1024]float32)
			for n := range x {
				fill(x[n][:], uint64(n))
				fill(t[n][:], uint64(n+1000))
			}
			return func() float32 { return m.(*w4.Model).TrainStep(x, t) }, int(unsafe.Sizeof(*x) + unsafe.Sizeof(*t))
		},
	},
}

// structBytes is the Model struct broken down by what its fields hold.
type structBytes struct {
	total       int // unsafe.Sizeof(Model{})
	params      int // parameter arrays (and optimizer state arrays, if any)
	grads       int // the ...Grad arrays
	hyper       int // hyperparameter scalars (LR, ...)
	hyperNames  []string
	slots       int // slotN arrays
	slotLens    []int
	workHeaders int // slice headers and pointers to the workspaces, and the mode (eval)
	padding     int // alignment gaps
}

// minimum is what the model must hold: parameters, gradients, optimizer
// state, hyperparameters and the planned activation slots.
func (s structBytes) minimum() int { return s.params + s.grads + s.hyper + s.slots }

// breakDown classifies the fields of the struct m points to. It reports
// fields it does not know.
func breakDown(t *testing.T, m any) structBytes {
	typ := reflect.TypeOf(m).Elem()
	s := structBytes{total: int(typ.Size())}
	end := uintptr(0)
	for i := range typ.NumField() {
		f := typ.Field(i)
		s.padding += int(f.Offset - end)
		end = f.Offset + f.Type.Size()
		size := int(f.Type.Size())
		var n int
		switch {
		case strings.HasPrefix(f.Name, "slot") && f.Type.Kind() == reflect.Array:
			if _, err := fmt.Sscanf(f.Name, "slot%d", &n); err != nil || n != len(s.slotLens) {
				t.Errorf("%s: field %s out of order (want slot%d)", typ, f.Name, len(s.slotLens))
			}
			s.slots += size
			s.slotLens = append(s.slotLens, f.Type.Len())
		case f.IsExported() && f.Type.Kind() == reflect.Array && strings.HasSuffix(f.Name, "Grad"):
			s.grads += size
		case f.IsExported() && f.Type.Kind() == reflect.Array:
			s.params += size
		case f.IsExported() && (f.Type.Kind() == reflect.Float32 || f.Type.Kind() == reflect.Float64):
			s.hyper += size
			s.hyperNames = append(s.hyperNames, f.Name)
		case f.Name == "gemmWork" || f.Name == "pool" || f.Name == "eval":
			s.workHeaders += size
		default:
			t.Errorf("%s: field %s (%s) is none of parameter, gradient, hyperparameter, slot or workspace", typ, f.Name, f.Type)
			s.workHeaders += size
		}
	}
	s.padding += s.total - int(end)
	return s
}

// owned is the heap memory that the model m points to: every slice's
// backing array (cap × element size, each array counted once), and the
// pool's struct, worker structs and their workspaces. It reads unexported
// fields through reflect, which may read (not write) them.
type owned struct {
	gemmWork  int // the model's own GEMM workspace
	pool      int // the Pool, its workers and their workspaces
	workers   int // the pool's workers, the calling goroutine's included
	perWorker int // one worker's workspace bytes
}

func (o owned) total() int { return o.gemmWork + o.pool }

func ownedBytes(m any) owned {
	var o owned
	seen := map[uintptr]bool{}
	slices := func(v reflect.Value) int { // v is a struct: its slice fields' arrays
		n := 0
		for i := range v.NumField() {
			f := v.Field(i)
			if f.Kind() != reflect.Slice || f.Cap() == 0 || seen[f.Pointer()] {
				continue
			}
			seen[f.Pointer()] = true
			n += f.Cap() * int(f.Type().Elem().Size())
		}
		return n
	}
	v := reflect.ValueOf(m).Elem()
	o.gemmWork = slices(v)
	if p := v.FieldByName("pool"); p.IsValid() && !p.IsNil() {
		pool := p.Elem()
		o.pool += int(pool.Type().Size())
		workers := pool.FieldByName("workers")
		o.workers = workers.Len()
		o.pool += workers.Cap() * int(workers.Type().Elem().Size())
		for i := range o.workers {
			w := workers.Index(i).Elem()
			ws := slices(w)
			o.pool += int(w.Type().Size()) + ws
			o.perWorker = max(o.perWorker, ws)
		}
	}
	return o
}

func closeModel(m any) {
	if c, ok := m.(interface{ Close() }); ok {
		c.Close()
	}
}

func memStats() goruntime.MemStats {
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return ms
}

// stepAllocs is what profiledAllocs found allocated while f ran.
type stepAllocs struct {
	total      int            // by any goroutine, the profiling's own excepted
	background int            // by goroutines not running the model: the GC, the scavenger, ...
	sched      int            // sudogs for the model's goroutines, by the Go scheduler
	model      map[string]int // by the model's code (generated or nngen runtime), by stack
}

// profiledAllocs runs f with every allocation recorded in the memory
// profile and sorts the bytes allocated meanwhile by who allocated them.
// An allocation is the model's when its stack passes through the generated
// package or nngen's runtime. Of those, the Go scheduler's sudogs do not
// count against the model: a goroutine blocking on the pool's channels or
// WaitGroup takes one from its P's cache, which every GC empties and which
// runs dry on one P when goroutines block on one P and wake on another;
// the runtime then allocates a sudog (112 B) and keeps it.
func profiledAllocs(f func()) stepAllocs {
	defer func(rate int) { goruntime.MemProfileRate = rate }(goruntime.MemProfileRate)
	goruntime.MemProfileRate = 1
	before := memProfile()
	f()
	after := memProfile()
	a := stepAllocs{model: map[string]int{}}
	for stack, n := range after {
		n -= before[stack]
		if n == 0 {
			continue
		}
		var sudog, model, ours bool
		var site strings.Builder
		frames := goruntime.CallersFrames(stack[:])
		for {
			fr, more := frames.Next()
			sudog = sudog || fr.Function == "runtime.acquireSudog"
			model = model || strings.HasPrefix(fr.Function, "github.com/nngen/nngen/bench/") ||
				strings.HasPrefix(fr.Function, "github.com/nngen/nngen/runtime/")
			ours = ours || fr.Function == "github.com/nngen/nngen/bench.memProfile"
			fmt.Fprintf(&site, "\n\t%s (%s:%d)", fr.Function, fr.File, fr.Line)
			if !more {
				break
			}
		}
		switch {
		case ours: // the profile's own maps and records
			continue
		case !model:
			a.background += n
		case sudog:
			a.sched += n
		default:
			a.model[site.String()] += n
		}
		a.total += n
	}
	return a
}

// memProfile is the bytes allocated so far by stack. The profile lags by up
// to two GC cycles, so it runs two first.
func memProfile() map[[32]uintptr]int {
	goruntime.GC()
	goruntime.GC()
	n, _ := goruntime.MemProfile(nil, true)
	for {
		recs := make([]goruntime.MemProfileRecord, n+64)
		var ok bool
		if n, ok = goruntime.MemProfile(recs, true); ok {
			bytes := map[[32]uintptr]int{}
			for _, r := range recs[:n] {
				bytes[r.Stack0] += int(r.AllocBytes)
			}
			return bytes
		}
	}
}

// rssMarker starts the line a child process prints its resident memory on.
const rssMarker = "nngen-memory-rss"

// childEnv names the workload a child process (TestMemoryRSSChild) runs.
const childEnv = "NNGEN_MEMORY_CHILD"

// procStatus returns VmRSS and VmHWM of this process, in KiB.
func procStatus() (rss, hwm int, err error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		switch k {
		case "VmRSS":
			rss, err = strconv.Atoi(fields[0])
		case "VmHWM":
			hwm, err = strconv.Atoi(fields[0])
		}
		if err != nil {
			return 0, 0, err
		}
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, fmt.Errorf("no VmRSS or VmHWM in /proc/self/status")
	}
	return rss, hwm, sc.Err()
}

// childRSS is what a child process reports, in KiB.
type childRSS struct {
	base, baseHWM, after, afterHWM int
}

// runChild runs workload name's training in a fresh test process and
// returns its resident memory before and after.
func runChild(t *testing.T, name string) childRSS {
	cmd := exec.Command(os.Args[0], "-test.run=^TestMemoryRSSChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+name)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child process for %s: %v\n%s", name, err, out)
	}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) != 6 || f[0] != rssMarker || f[1] != name {
			continue
		}
		var c childRSS
		for i, p := range []*int{&c.base, &c.baseHWM, &c.after, &c.afterHWM} {
			if *p, err = strconv.Atoi(f[2+i]); err != nil {
				t.Fatalf("child process for %s: %q: %v", name, line, err)
			}
		}
		return c
	}
	t.Fatalf("child process for %s printed no %s line:\n%s", name, rssMarker, out)
	return childRSS{}
}

// TestMemoryRSSChild is the child process of TestMemoryReport: it builds
// one workload's model in a fresh process, runs a few training steps and
// prints its resident memory before and after.
func TestMemoryRSSChild(t *testing.T) {
	name := os.Getenv(childEnv)
	if name == "" {
		t.Skip("run by TestMemoryReport in a child process")
	}
	var w *memWorkload
	for _, x := range memWorkloads {
		if x.name == name {
			w = x
		}
	}
	if w == nil {
		t.Fatalf("no workload %q", name)
	}
	goruntime.GC()
	base, baseHWM, err := procStatus()
	if err != nil {
		t.Fatal(err)
	}
	m := w.newModel()
	step, _ := w.trainer(m)
	for range 3 {
		step()
	}
	after, afterHWM, err := procStatus()
	if err != nil {
		t.Fatal(err)
	}
	closeModel(m)
	fmt.Printf("%s %s %d %d %d %d\n", rssMarker, name, base, baseHWM, after, afterHWM)
}

func kib(b int) string {
	if b < 1<<20 {
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20))
}

func TestMemoryReport(t *testing.T) {
	if goruntime.GOOS != "linux" {
		t.Skip("reads /proc/self/status")
	}
	t.Logf("GOMAXPROCS=%d", goruntime.GOMAXPROCS(0))
	var rows []string
	for _, w := range memWorkloads {
		t.Run(w.name, func(t *testing.T) {
			// What the struct must hold, from the layer shapes.
			var paramElems int
			for _, l := range w.layers {
				paramElems += l[0]*l[1] + l[1] // weight and bias
			}
			wantParams := 4 * (paramElems + w.stateElems) // float32
			wantGrads := 4 * paramElems
			wantHyper := 4 * len(w.hyper)
			var wantSlotLens []int
			wantSlots := 0
			for _, vals := range w.slots {
				most := 0
				for _, v := range vals {
					n, ok := w.size(v)
					if !ok {
						t.Fatalf("no width for planned value %s", v)
					}
					most = max(most, n)
				}
				wantSlotLens = append(wantSlotLens, most)
				wantSlots += 4 * most
			}

			// The model's heap growth: New's allocations.
			goruntime.GC()
			before := memStats()
			m := w.newModel()
			afterNew := memStats()
			defer closeModel(m)
			heapNew := int(afterNew.TotalAlloc - before.TotalAlloc)

			s := breakDown(t, m)
			o := ownedBytes(m)
			if s.total != int(w.sizeof) {
				t.Errorf("reflect gives the Model %d B, unsafe.Sizeof %d B", s.total, w.sizeof)
			}
			if s.params != wantParams || s.grads != wantGrads || s.hyper != wantHyper {
				t.Errorf("struct holds params+state %d B, grads %d B, hyperparameters %d B; the shapes give %d, %d, %d",
					s.params, s.grads, s.hyper, wantParams, wantGrads, wantHyper)
			}
			if !reflect.DeepEqual(s.hyperNames, w.hyper) {
				t.Errorf("hyperparameter fields %v, want %v", s.hyperNames, w.hyper)
			}
			if !reflect.DeepEqual(s.slotLens, wantSlotLens) {
				t.Errorf("slot lengths %v, the plan's values give %v", s.slotLens, wantSlotLens)
			}
			if got := wantParams + wantGrads + wantHyper + wantSlots + s.workHeaders + s.padding; got != s.total || s.padding >= 8 {
				t.Errorf("unsafe.Sizeof(Model{}) = %d B, want params %d + grads %d + hyper %d + slots %d + workspace headers %d + padding %d (< 8) = %d",
					s.total, wantParams, wantGrads, wantHyper, wantSlots, s.workHeaders, s.padding, got)
			}
			model := s.total + o.total()
			// New allocates the struct and the buffers counted above, each
			// rounded up to its size class or page, plus the pool's
			// channels and worker goroutines: a few KiB per buffer.
			if slack := 8<<10*(2+2*o.workers) + model/100; heapNew < model || heapNew > model+slack {
				t.Errorf("New allocated %d B; the model owns %d B (allowed up to %d B more for rounding)", heapNew, model, slack)
			}

			// Training: the first step's allocations, and none after but
			// the Go scheduler's own (see profiledAllocs).
			step, inputBytes := w.trainer(m)
			first := profiledAllocs(func() { step() })
			firstStep := first.total - first.sched - first.background
			more := profiledAllocs(func() {
				for range 3 {
					step()
				}
			})
			for site, n := range more.model {
				t.Errorf("TrainStep allocates after the first call: %d B in%s", n, site)
			}
			if allocs := testing.AllocsPerRun(3, func() { step() }); allocs != 0 {
				t.Errorf("TrainStep allocates after the first call: %v allocs/op", allocs)
			}

			// Resident memory of a fresh process training this workload.
			c := runChild(t, w.name)
			rssGrowth := (c.after - c.base) << 10

			minimum := s.minimum()
			ratio := float64(model) / float64(minimum)
			t.Logf("struct %d B = params %d + grads %d + optimizer state %d + hyperparameters %d + slots %d %v + workspace headers %d + padding %d",
				s.total, s.params-4*w.stateElems, s.grads, 4*w.stateElems, s.hyper, s.slots, s.slotLens, s.workHeaders, s.padding)
			t.Logf("heap buffers: gemmWork %d B; pool %d B (%d workers × %d B workspace, plus structs)",
				o.gemmWork, o.pool, o.workers, o.perWorker)
			t.Logf("model %d B (%s); minimum %d B (%s); ratio %.3f; target 1.10: %s",
				model, kib(model), minimum, kib(minimum), ratio, map[bool]string{true: "met", false: "missed"}[ratio <= 1.10])
			t.Logf("measured: New allocated %d B; the first TrainStep %d B by the model (+ %d B of sudogs for the pool's goroutines, %d B by the runtime's background goroutines); the next 3 steps %d B by the model (+ %d B, %d B)",
				heapNew, firstStep, first.sched, first.background, more.total-more.sched-more.background, more.sched, more.background)
			t.Logf("process RSS (fresh child, KiB): baseline %d (test binary), after New+3 TrainSteps %d, growth %d (inputs %d B included), peak %d",
				c.base, c.after, c.after-c.base, inputBytes, c.afterHWM)
			rows = append(rows, fmt.Sprintf("ROW %s procs=%d model=%d minimum=%d ratio=%.3f gemmwork=%d pool=%d workers=%d heapnew=%d firststep=%d rssbase=%d rssgrowth=%d rsspeak=%d inputs=%d",
				w.name, goruntime.GOMAXPROCS(0), model, minimum, ratio, o.gemmWork, o.pool, o.workers, heapNew, firstStep, c.base<<10, rssGrowth, c.afterHWM<<10, inputBytes))
		})
	}
	t.Logf("machine-readable rows (bytes), read by bench/memory.sh:\n%s", strings.Join(rows, "\n"))
}
