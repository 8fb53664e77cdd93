/** The entry of dist/embed.js: `<script type="module" src="https://<gateway>/embed.js">` defines <aurora-image>. */
import { defineAuroraImage } from './element.ts';

defineAuroraImage();
