/*
 * bench/mpi_allreduce.c — the bare MPI_Allreduce that bench/distributed.lua compares
 * dist.allReduce with: in place, float sum, MPI_COMM_WORLD, for each size (in floats) given on
 * the command line: `rounds` rounds of `calls` calls after a barrier, the best round's time per
 * call. Rank 0 prints one line per size, "size microseconds". Built by the Makefile with mpicc
 * when it is found ($(BUILD)/bench/mpi_allreduce); run it under mpirun.
 *   mpi_allreduce ROUNDS SIZE:CALLS [SIZE:CALLS ...]
 */
#include <stdio.h>
#include <stdlib.h>

#include <mpi.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    for (int a = 2; a < argc; a++) {
        long n = 0, calls = 0;
        if (sscanf(argv[a], "%ld:%ld", &n, &calls) != 2 || n < 1 || calls < 1) {
            if (rank == 0) fprintf(stderr, "mpi_allreduce: bad SIZE:CALLS '%s'\n", argv[a]);
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
        float *buf = malloc((size_t)n * sizeof *buf);   /* (n) */
        if (!buf) MPI_Abort(MPI_COMM_WORLD, 1);
        for (long i = 0; i < n; i++) buf[i] = 1.0f / (float)(i + 1);
        double best = 1e30;
        for (int r = 0; r < rounds; r++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            for (long c = 0; c < calls; c++)
                MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            double t = (MPI_Wtime() - t0) / (double)calls;
            /* a round is as slow as its slowest rank */
            MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            if (t < best) best = t;
        }
        if (rank == 0) printf("%ld %.3f\n", n, best * 1e6);
        free(buf);
    }
    MPI_Finalize();
    return 0;
}
