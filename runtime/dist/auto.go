package dist

import (
	"fmt"
	"os"
)

// launchers are the environment variables by which a launcher marks the
// processes it starts: Open MPI's mpirun, a PMIx server (Open MPI 5,
// srun --mpi=pmix), and Slurm's srun.
var launchers = []struct{ env, by string }{
	{"OMPI_COMM_WORLD_SIZE", "mpirun"},
	{"PMIX_RANK", "a PMIx launcher"},
	{"SLURM_STEP_NUM_TASKS", "srun"},
}

// Launcher names what started this process as one rank of a job (mpirun,
// srun), or is "" for a process started on its own.
func Launcher() string {
	for _, l := range launchers {
		if os.Getenv(l.env) != "" {
			return l.by
		}
	}
	return ""
}

// Auto returns MPI_COMM_WORLD when mpirun or srun started the process and
// Open MPI loads, else a single-process Comm; why says which, and what was
// missing. A job of one rank works as well as a process alone, so a
// program that calls Auto runs with or without mpirun. Under mpirun -np N
// with an MPI that does not load, each of the N processes trains alone:
// print why, or call MPI, which fails instead.
func Auto() (c *Comm, why string) {
	by := Launcher()
	if by == "" {
		return Single(), "single process: not started by mpirun or srun"
	}
	c, err := MPI()
	if err != nil {
		return Single(), fmt.Sprintf("single process: started by %s, but %v", by, err)
	}
	return c, fmt.Sprintf("%s: rank %d of %d, started by %s", c.Backend(), c.rank, c.size, by)
}

// MPI initialises MPI and returns MPI_COMM_WORLD, or an error that says
// why not. It is for programs that must not train alone; call it once per
// process.
func MPI() (*Comm, error) {
	return openMPI()
}
