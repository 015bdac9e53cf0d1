// OpenMP when the build found it; a one-thread stand-in otherwise (the pragmas are then ignored).
#pragma once
#ifdef _OPENMP
#include <omp.h>
#else
inline int omp_get_num_threads() { return 1; }
inline int omp_get_thread_num() { return 0; }
inline int omp_get_max_threads() { return 1; }
#endif
