import * as fs from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const HAS_CHROMIUM = fs.existsSync(CHROMIUM_PATH);
if (!HAS_CHROMIUM) console.warn(`Chromium not found at ${CHROMIUM_PATH} (apt-get install chromium): browser tests skipped`);

/**
 * WebGPU in headless Debian Chromium on a real Vulkan adapter (Mesa's, through ANGLE's OpenGL ES
 * over Vulkan; offered at `featureLevel: 'compatibility'`). `--enable-unsafe-webgpu` alone gives
 * only SwiftShader; developer features un-hide the adapter's description.
 */
export const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--use-angle=vulkan', '--use-webgpu-adapter=opengles', '--enable-webgpu-developer-features'];

/**
 * Debian's Chromium, headless, with background networking off (this machine has no internet).
 * Without `webgpu` the GPU is off (`--disable-gpu`): pages get no WebGPU adapter.
 */
export function launchChromium(options: { webgpu?: boolean } = {}): Promise<Browser> {
  const gpu = options.webgpu ? WEBGPU_ARGS : ['--disable-gpu'];
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', ...gpu, '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}
