import { writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { z } from 'zod'
import { pipelineFileSchema } from './schema.js'

/** Where the generated schema lives; editors find it through `# yaml-language-server: $schema=...`. */
export const JSON_SCHEMA_URL = new URL('../../schema/pipeline.schema.json', import.meta.url)

/** schema/pipeline.schema.json as text, generated from the zod schema. */
export function renderJsonSchema(): string {
  // io 'input': keys with defaults are optional in the file; draft-07 is what yaml-language-server reads best.
  const schema = z.toJSONSchema(pipelineFileSchema, { io: 'input', target: 'draft-07' })
  return `${JSON.stringify(schema, null, 2)}\n`
}

/** Write schema/pipeline.schema.json. */
export function writeJsonSchema(): void {
  writeFileSync(JSON_SCHEMA_URL, renderJsonSchema())
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeJsonSchema()
  process.stderr.write(`wrote ${JSON_SCHEMA_URL.pathname}\n`)
}
