/** One classic BPF instruction, laid out as the kernel's struct sock_filter. */
export interface BpfInstruction {
  code: number;
  /** Instructions to skip when the condition holds / does not; u8, so at most 255. */
  jt: number;
  jf: number;
  k: number;
}

// Opcodes: class | size/op | source. Only the few a seccomp filter needs.
const BPF_LD_W_ABS = 0x00 | 0x00 | 0x20;
const BPF_JMP_JEQ_K = 0x05 | 0x10 | 0x00;
const BPF_JMP_JGT_K = 0x05 | 0x20 | 0x00;
const BPF_JMP_JGE_K = 0x05 | 0x30 | 0x00;
const BPF_JMP_JSET_K = 0x05 | 0x40 | 0x00;
const BPF_RET_K = 0x06 | 0x00;

const BPF_CLASS_MASK = 0x07;
const BPF_JMP = 0x05;

const INSTRUCTION_BYTES = 8;
const MAX_JUMP = 255;
/** BPF_MAXINSNS: the kernel refuses longer programs. */
const MAX_INSTRUCTIONS = 4096;

/** A = the 32-bit word at `offset` of struct seccomp_data. */
export const load = (offset: number): BpfInstruction => ({ code: BPF_LD_W_ABS, jt: 0, jf: 0, k: offset });
export const jumpIfEqual = (k: number, jt: number, jf: number): BpfInstruction => ({ code: BPF_JMP_JEQ_K, jt, jf, k });
/** Unsigned A > k. */
export const jumpIfGreater = (k: number, jt: number, jf: number): BpfInstruction => ({ code: BPF_JMP_JGT_K, jt, jf, k });
/** Unsigned A >= k. */
export const jumpIfAtLeast = (k: number, jt: number, jf: number): BpfInstruction => ({ code: BPF_JMP_JGE_K, jt, jf, k });
/** A & k != 0. */
export const jumpIfAnySet = (k: number, jt: number, jf: number): BpfInstruction => ({ code: BPF_JMP_JSET_K, jt, jf, k });
export const ret = (k: number): BpfInstruction => ({ code: BPF_RET_K, jt: 0, jf: 0, k });

/**
 * Serialises a program as bwrap reads it from --seccomp: sock_filter[] in the
 * byte order of the two supported CPUs (little-endian). Rejects what the
 * kernel would reject, so a mistake fails here rather than at sandbox start.
 */
export function encodeProgram(program: readonly BpfInstruction[]): Buffer {
  if (program.length === 0 || program.length > MAX_INSTRUCTIONS) throw new Error(`a BPF program has 1 to ${MAX_INSTRUCTIONS} instructions, not ${program.length}`);
  if (program.at(-1)!.code !== BPF_RET_K) throw new Error('a BPF program must end with a return');
  const out = Buffer.alloc(program.length * INSTRUCTION_BYTES);
  program.forEach((insn, index) => {
    const jumps = (insn.code & BPF_CLASS_MASK) === BPF_JMP ? [insn.jt, insn.jf] : [];
    for (const skip of jumps) {
      if (!Number.isInteger(skip) || skip < 0 || skip > MAX_JUMP || index + 1 + skip >= program.length) {
        throw new Error(`BPF instruction ${index} jumps ${skip}, outside the program or beyond ${MAX_JUMP}`);
      }
    }
    const offset = index * INSTRUCTION_BYTES;
    out.writeUInt16LE(insn.code, offset);
    out.writeUInt8(insn.jt, offset + 2);
    out.writeUInt8(insn.jf, offset + 3);
    out.writeUInt32LE(insn.k, offset + 4);
  });
  return out;
}
