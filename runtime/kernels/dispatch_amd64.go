//go:build amd64 && !noasm

package kernels

import "github.com/klauspost/cpuid/v2"

// The assembly sets, in order of preference. Blocking parameters are per
// set (see gemm.go and README.md): kc keeps an mr×kc sliver of packed A in
// the 48 KiB L1 while the kc×nb block of packed B streams from the 2 MiB L2.
// mb and nb cap the packed float32 blocks at about 1 MiB of A (up to 1064
// rows: B is packed once for a 1024-row product) and 0.25 MiB of B, the
// same in every set, so that both stay in the L2 and a model's workspace
// (one per core, for its share of each product: PoolWork32) stays near
// 1 MiB.
var kernelSets = []*kernelSet{
	genericKernels,
	{
		name: "avx2",
		sgemm: gemmKernel[float32]{mr: 6, nr: 16, kc: 256, mb: 1062, nb: 256, micro: sgemmKernelAVX2,
			packW: 8, packTranspose: packTransposeY32, packRows: packRowsY32},
		dgemm: gemmKernel[float64]{mr: 6, nr: 8, kc: 256, mb: 252, nb: 128, micro: dgemmKernelAVX2,
			packW: 4, packTranspose: packTransposeY64, packRows: packRowsY64},
		v32:         avx2Vec32,
		v64:         avx2Vec64,
		sigmoid32:   sigmoid32AVX2,
		softmax32:   softmax32AVX2,
		logSumExp32: logSumExp32AVX2,
	},
	{
		name: "avx512",
		sgemm: gemmKernel[float32]{mr: 14, nr: 32, kc: 256, mb: 1064, nb: 256, micro: sgemmKernelAVX512,
			packW: 16, packTranspose: packTransposeZ32, packRows: packRowsZ32},
		sgemm8: gemmKernel[float32]{mr: 8, nr: 32, kc: 256, mb: 1064, nb: 256, micro: sgemmKernel8AVX512, microRows: sgemmKernel8RowsAVX512,
			packW: 16, packTranspose: packTransposeZ32, packRows: packRowsZ32},
		snt: ntKernel{kc: 256, micro: sgemmKernelNT8AVX512,
			pack: gemmKernel[float32]{nr: ntCols, packW: 16, packTranspose: packTransposeZ32, packRows: packRowsZ32}},
		dgemm: gemmKernel[float64]{mr: 14, nr: 16, kc: 256, mb: 252, nb: 128, micro: dgemmKernelAVX512,
			packW: 8, packTranspose: packTransposeZ64, packRows: packRowsZ64},
		v32:              avx512Vec32,
		v64:              avx512Vec64,
		maxPoolGrad32:    true,
		dotBlocks32:      true,
		small32:          &smallTiles32AVX512,
		layerNorm32:      slayerNormAVX512,
		layerNormGrads32: slayerNormGradsAVX512,
		softmaxGrad32:    ssoftmaxGradAVX512,
		softmaxRows32:    ssoftmaxRowsAVX512,
		sigmoid32:        sigmoid32AVX2, // eight lanes: sigmoid layers are small
		softmax32:        softmax32AVX2, // eight lanes: rows of a few classes
		logSumExp32:      logSumExp32AVX2,
	},
}

func supported(name string) bool {
	switch name {
	case "generic":
		return true
	case "avx2":
		return cpuid.CPU.Supports(cpuid.AVX, cpuid.AVX2, cpuid.FMA3)
	case "avx512":
		return cpuid.CPU.Supports(cpuid.AVX, cpuid.AVX2, cpuid.FMA3, cpuid.AVX512F)
	}
	return false
}
