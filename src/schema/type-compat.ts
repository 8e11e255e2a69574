import { assertNever } from '../errors.js'
import type { WidenReason } from './change.js'
import { charsetMaxLen, type ParsedType, parseColumnType } from './column-type.js'
import type { ColumnDef } from './table-def.js'

/** How a target column's type relates to the source's: the same, a lossless widening, or neither. */
export type Verdict =
  | { kind: 'same' }
  | { kind: 'widen'; reason: WidenReason }
  | { kind: 'incompatible'; reason: string }

const SAME: Verdict = { kind: 'same' }
const NARROWER: Verdict = { kind: 'incompatible', reason: 'the new type is narrower' }
const widen = (reason: WidenReason): Verdict => ({ kind: 'widen', reason })

/** Whether the source's type `s` holds every value of the target's type `t`. */
export function compareTypes(s: ColumnDef, t: ColumnDef): Verdict {
  // What MariaDB makes of a JSON column created from MySQL's definition.
  if (s.dataType === 'json' && t.dataType === 'longtext') return SAME
  const a = parseColumnType(t)
  const b = parseColumnType(s)
  const grow = (from: number, to: number, reason: WidenReason): Verdict =>
    to === from ? SAME : to > from ? widen(reason) : NARROWER
  switch (a.family) {
    case 'int':
      if (b.family !== 'int') break
      return compareInts(a, b)
    case 'decimal': {
      if (b.family !== 'decimal') break
      if (a.unsigned === false && b.unsigned) return { kind: 'incompatible', reason: 'signed to unsigned' }
      const same = a.precision === b.precision && a.scale === b.scale && a.unsigned === b.unsigned
      if (same) return SAME
      // Lossless only when neither the integer digits nor the scale shrink.
      const fits = b.precision - b.scale >= a.precision - a.scale && b.scale >= a.scale
      return fits ? widen('decimal_precision_scale') : NARROWER
    }
    case 'float':
    case 'double':
      if ((b.family !== 'float' && b.family !== 'double') || a.unsigned !== b.unsigned) break
      // Every FLOAT is exactly a DOUBLE; the way back rounds.
      return a.family === b.family ? SAME : b.family === 'double' ? widen('float_to_double') : NARROWER
    case 'bit':
      if (b.family !== 'bit') break
      return grow(a.bits, b.bits, 'bit_length')
    case 'char':
    case 'varchar':
    case 'binary':
    case 'varbinary':
      return compareStrings(a, b, t.charset)
    case 'text':
    case 'blob':
      if (b.family !== a.family) break
      return grow(a.bytes, b.bytes, 'text_blob_size')
    case 'enum':
    case 'set': {
      if (b.family !== a.family) break
      const prefix = a.values.every((v, i) => b.values[i] === v)
      if (prefix && b.values.length === a.values.length) return SAME
      if (prefix && b.values.length > a.values.length) {
        return widen(a.family === 'enum' ? 'enum_values_appended' : 'set_values_appended')
      }
      // ENUM/SET store positions: a reordered or removed value would change or lose stored rows.
      return { kind: 'incompatible', reason: `${a.family.toUpperCase()} values reordered or removed` }
    }
    case 'datetime':
    case 'time':
    case 'timestamp':
      if (b.family !== a.family) break
      return grow(a.fsp, b.fsp, 'fsp_raised')
    case 'other':
      if (b.family === 'other' && b.text === a.text) return SAME
      break
    default:
      return assertNever(a)
  }
  return { kind: 'incompatible', reason: 'the type changed' }
}

function compareInts(a: ParsedType & { family: 'int' }, b: ParsedType & { family: 'int' }): Verdict {
  if (a.bytes === b.bytes && a.unsigned === b.unsigned) return SAME
  if (!a.unsigned && b.unsigned) return { kind: 'incompatible', reason: 'signed to unsigned' }
  // Unsigned to signed needs a wider type: TINYINT UNSIGNED (0..255) fits SMALLINT, not TINYINT.
  const fits = a.unsigned === b.unsigned ? b.bytes >= a.bytes : b.bytes > a.bytes
  if (!fits) return NARROWER
  return widen(a.unsigned === b.unsigned ? 'int_width' : 'int_signedness')
}

type StringType = ParsedType & { family: 'char' | 'varchar' | 'binary' | 'varbinary' }

function compareStrings(a: StringType, b: ParsedType, charset: string | null): Verdict {
  const binary = a.family === 'binary' || a.family === 'varbinary'
  if (b.family === 'text' || b.family === 'blob') {
    if ((b.family === 'blob') !== binary) return { kind: 'incompatible', reason: 'the type changed' }
    const need = binary ? a.length : a.length * charsetMaxLen(charset)
    return need <= b.bytes ? widen(binary ? 'binary_to_blob' : 'string_to_text') : NARROWER
  }
  if (b.family !== 'char' && b.family !== 'varchar' && b.family !== 'binary' && b.family !== 'varbinary') {
    return { kind: 'incompatible', reason: 'the type changed' }
  }
  const reason = STRING_REASONS[`${a.family}>${b.family}`]
  // VARCHAR to CHAR would strip trailing spaces; VARBINARY to BINARY would pad with zero bytes.
  if (reason === undefined) return { kind: 'incompatible', reason: 'the type changed' }
  if (b.length < a.length) return NARROWER
  return b.length === a.length && a.family === b.family ? SAME : widen(reason)
}

const STRING_REASONS: Record<string, WidenReason> = {
  'char>char': 'char_length',
  'char>varchar': 'char_to_varchar',
  'varchar>varchar': 'varchar_length',
  'binary>binary': 'binary_length',
  'binary>varbinary': 'binary_to_varbinary',
  'varbinary>varbinary': 'varbinary_length',
}
