/**
 * Execution providers as one concept (packages/model/src/node/execution-providers.ts): how the
 * adapter is told from the Vulkan loader's log, and what `auto` picks on this machine.
 */
import ortNode from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { isCpuEmulatedAdapter, parseLoaderDevices, pickAdapter, probeWebGpu, resolveExecutionProvider } from '../src/node/execution-providers.ts';
import { parsePlacementLog } from '../src/node/placements.ts';

const ort = ortNode;

// The Vulkan loader's VK_LOADER_DEBUG=driver lines as libvulkan1 1.3.239 prints them (lavapipe from
// this machine; the NVIDIA line in the same format, as a host with both drivers lists them).
const LOADER_LOG = `DRIVER:           Found ICD manifest file /usr/share/vulkan/icd.d/lvp_icd.json, version "1.0.0"
INFO | DRIVER:    linux_read_sorted_physical_devices:
INFO | DRIVER:         Original order:
INFO | DRIVER:               [0] llvmpipe (LLVM 15.0.6, 256 bits)
INFO | DRIVER:               [1] NVIDIA H200
INFO | DRIVER:         Sorted order:
INFO | DRIVER:               [0] NVIDIA H200  
INFO | DRIVER:               [1] llvmpipe (LLVM 15.0.6, 256 bits)  
`;

describe('the WebGPU adapter, from the Vulkan loader', () => {
  it('lists each device once and takes a real GPU over a CPU-emulated one', () => {
    const devices = parseLoaderDevices(LOADER_LOG);
    expect(devices).toEqual(['llvmpipe (LLVM 15.0.6, 256 bits)', 'NVIDIA H200']);
    expect(pickAdapter(devices)).toEqual({ description: 'NVIDIA H200', cpuEmulated: false, devices });
    expect(pickAdapter(['llvmpipe (LLVM 15.0.6, 256 bits)'])?.cpuEmulated).toBe(true);
    expect(pickAdapter([])).toBeNull();
  });

  it('knows the CPU-emulated drivers by name', () => {
    for (const name of ['llvmpipe (LLVM 15.0.6, 256 bits)', 'SwiftShader Device (Subzero)', 'lavapipe']) expect(isCpuEmulatedAdapter(name), name).toBe(true);
    for (const name of ['NVIDIA H200', 'AMD Radeon RX 7900 XTX (RADV NAVI31)', 'Intel(R) Arc(tm) A770 Graphics (DG2)']) expect(isCpuEmulatedAdapter(name), name).toBe(false);
  });
});

describe('resolving a choice on this machine (no CUDA libraries are installed here)', () => {
  it('auto passes over CUDA and any CPU-emulated adapter, saying why, and takes the CPU', async () => {
    const probe = await probeWebGpu();
    const resolved = await resolveExecutionProvider(ort, 'auto');
    if (probe.ok && !probe.adapter.cpuEmulated) {
      expect(resolved.provider).toBe('webgpu');
      return;
    }
    expect(resolved.provider).toBe('cpu');
    expect(resolved.skipped[0]).toMatch(/^cuda: /);
    expect(resolved.skipped[1]).toMatch(probe.ok ? /^webgpu: the only adapter is CPU-emulated/ : /^webgpu: /);
  });

  it('an explicit cuda that cannot load is an error naming the provider and the way to get it', async () => {
    await expect(resolveExecutionProvider(ort, 'cuda')).rejects.toThrow(/^execution provider cuda: the CUDA execution provider could not start: .*ONNXRUNTIME_NODE_INSTALL=cuda12/);
  });
});

describe("onnxruntime's verbose placement log", () => {
  it('counts nodes per provider, lists the fallbacks and the copies', () => {
    const log = [
      '2026-12-04 13:22:36.551 [I:onnxruntime:, transformer_memcpy.cc:393 AddCopyNode] Add MemcpyToHost before ff.ArgMax for WebGpuExecutionProvider',
      '2026-12-04 13:22:36.563 [V:onnxruntime:, session_state.cc:1383 VerifyEachNodeIsAssignedToAnEp]  Node(s) placed on [CPUExecutionProvider]. Number of nodes: 2',
      '2026-12-04 13:22:36.563 [V:onnxruntime:, session_state.cc:1385 VerifyEachNodeIsAssignedToAnEp]   NonZero (ff.NonZero)',
      '2026-12-04 13:22:36.563 [V:onnxruntime:, session_state.cc:1385 VerifyEachNodeIsAssignedToAnEp]   Equal (ff.Equal)',
      '2026-12-04 13:22:36.563 [V:onnxruntime:, session_state.cc:1383 VerifyEachNodeIsAssignedToAnEp]  Node(s) placed on [WebGpuExecutionProvider]. Number of nodes: 3',
      '2026-12-04 13:22:36.563 [V:onnxruntime:, session_state.cc:1385 VerifyEachNodeIsAssignedToAnEp]   MatMul (a.MatMul)',
    ].join('\n');
    expect(parsePlacementLog(log, 'webgpu')).toEqual({
      provider: 'webgpu',
      byProvider: { CPUExecutionProvider: 2, WebGpuExecutionProvider: 3 },
      fallback: ['NonZero (ff.NonZero)', 'Equal (ff.Equal)'],
      memcpy: 1,
      total: 5,
    });
  });
});
