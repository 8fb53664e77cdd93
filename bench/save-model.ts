/** Development tool: writes a preset's random-weight model to a file. tsx bench/save-model.ts out.onnx [preset] */
import * as fs from 'node:fs';
import { buildPresetModel } from './common.ts';

const built = buildPresetModel(process.argv[3] ?? 'aurora-tiny');
fs.writeFileSync(process.argv[2], built.model);
console.log(`${process.argv[2]}: ${built.model.byteLength} bytes, ${built.params} params, layers ${built.shape.numLayers}`);
