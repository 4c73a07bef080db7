// Hot loops are compiled twice -- portable x86-64 and x86-64-v3 (AVX2+FMA) -- and picked at load
// time by the CPU (GCC target_clones, resolved once through an ifunc). The library itself stays
// portable.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__)
#define BERTKIT_SIMD_CLONES __attribute__((target_clones("default", "arch=x86-64-v3")))
#else
#define BERTKIT_SIMD_CLONES
#endif
