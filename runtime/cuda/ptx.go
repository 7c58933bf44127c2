package cuda

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// CheckPTX checks that spec's PTX has an entry for every kernel that spec
// launches (those around a GEMM included), with the parameters the launch passes: a pointer (.u64) per
// buffer, then a number of the Spec's Float type per scalar. A mismatch
// would make the driver read garbage arguments, so NewProgram refuses it.
func CheckPTX(spec *Spec) error {
	entries, err := Entries(spec.PTX)
	if err != nil {
		return err
	}
	scalar := map[int]string{4: ".f32", 8: ".f64"}[spec.Float]
	if scalar == "" {
		return fmt.Errorf("cuda: Float is %d bytes, want 4 or 8", spec.Float)
	}
	var check func(k Kernel) error
	check = func(k Kernel) error {
		params, ok := entries[k.Name]
		if !ok {
			return fmt.Errorf("cuda: the PTX has no kernel %s; regenerate the package", k.Name)
		}
		var want []string
		for _, b := range k.Buffers {
			if b < 0 || b >= len(spec.Buffers) {
				return fmt.Errorf("cuda: kernel %s uses buffer %d of %d", k.Name, b, len(spec.Buffers))
			}
			want = append(want, ".u64")
		}
		for range k.Scalars {
			want = append(want, scalar)
		}
		if strings.Join(params, " ") != strings.Join(want, " ") {
			return fmt.Errorf("cuda: kernel %s takes (%s) in the PTX but is launched with (%s); regenerate the package",
				k.Name, strings.Join(params, ", "), strings.Join(want, ", "))
		}
		if k.GEMM != nil {
			for _, k := range slices.Concat(k.GEMM.Before, k.GEMM.Then) {
				if err := check(k); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, phase := range spec.Phases {
		for _, k := range phase {
			if err := check(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// Entries lists the kernels of a PTX module with the types of their
// parameters, in order: ".visible .entry name(.param .u64 name_param_0, ...)".
func Entries(ptx []byte) (map[string][]string, error) {
	entries := map[string][]string{}
	var name string
	var params []string
	in := false
	sc := bufio.NewScanner(bytes.NewReader(ptx))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case !in:
			_, rest, ok := strings.Cut(line, ".entry ")
			if !ok || strings.HasPrefix(line, "//") {
				continue
			}
			name, _, _ = strings.Cut(rest, "(")
			name = strings.TrimSpace(name)
			params, in = []string{}, true
			if strings.HasSuffix(rest, ")") { // no parameters
				entries[name], in = params, false
			}
		case strings.HasPrefix(line, ".param"):
			f := strings.Fields(line)
			if len(f) < 3 {
				return nil, fmt.Errorf("cuda: PTX entry %s: unreadable parameter %q", name, line)
			}
			params = append(params, f[1])
		case strings.HasPrefix(line, ")"):
			entries[name], in = params, false
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if in {
		return nil, fmt.Errorf("cuda: PTX entry %s has no end to its parameters", name)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("cuda: the PTX has no kernels")
	}
	return entries, nil
}
