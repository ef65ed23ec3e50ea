/*
 * l2bios.S - minimal x86 firmware for an L2 guest:
 *   qemu-system-x86_64 -bios l2bios.bin \
 *       -device isa-debug-exit,iobase=0xf4,iosize=0x04 ...
 *
 * Prints one line on COM1, then asks QEMU to exit through isa-debug-exit
 * (exit status (0x10 << 1) | 1 = 33).
 *
 * The flat 64 KiB image is mapped just below 4 GiB and aliased at
 * 0xF0000-0xFFFFF.  The CPU starts at 0xFFFFFFF0 (CS base 0xFFFF0000,
 * IP 0xFFF0), i.e. the last 16 bytes of the image, where a far jump to
 * F000:0000 (the start of the image via the low alias) is placed.
 * Link address 0 makes every label an offset within segment 0xF000.
 *
 * Build (see Makefile):
 *   as --32 -o l2bios.o l2bios.S
 *   ld -m elf_i386 -Ttext=0 -e _start -o l2bios.elf l2bios.o
 *   objcopy -O binary -j .text l2bios.elf l2bios.bin
 */

	.code16
	.text
	.globl	_start

	.set	COM1, 0x3f8
	.set	DEBUG_EXIT, 0xf4

_start:
	cli
	cld
	mov	%cs, %ax		/* DS = CS = 0xF000: message is in ROM */
	mov	%ax, %ds

	/* 16550 init: no interrupts, 115200 baud (divisor 1), 8N1. */
	mov	$COM1 + 1, %dx		/* IER */
	xor	%al, %al
	out	%al, %dx
	mov	$COM1 + 3, %dx		/* LCR: DLAB=1 to reach the divisor */
	mov	$0x80, %al
	out	%al, %dx
	mov	$COM1 + 0, %dx		/* DLL */
	mov	$1, %al
	out	%al, %dx
	mov	$COM1 + 1, %dx		/* DLM */
	xor	%al, %al
	out	%al, %dx
	mov	$COM1 + 3, %dx		/* LCR: DLAB=0, 8 data bits, no parity, 1 stop */
	mov	$0x03, %al
	out	%al, %dx
	mov	$COM1 + 4, %dx		/* MCR: DTR | RTS */
	mov	$0x03, %al
	out	%al, %dx

	mov	$message, %si
next_char:
	lodsb
	test	%al, %al
	jz	done
	mov	%al, %bl
	mov	$COM1 + 5, %dx		/* LSR */
wait_thre:
	/* Wait for an empty transmit register; a missing UART reads 0xff. */
	in	%dx, %al
	test	$0x20, %al
	jz	wait_thre
	mov	$COM1, %dx		/* THR */
	mov	%bl, %al
	out	%al, %dx
	jmp	next_char

done:
	mov	$DEBUG_EXIT, %dx	/* QEMU exits with (0x10 << 1) | 1 */
	mov	$0x10, %al
	out	%al, %dx
halt:
	cli				/* no debug-exit device: stop here */
	hlt
	jmp	halt

message:
	.asciz	"L2 guest: hello from the nested guest\r\n"

	/* Reset vector: the last 16 bytes of the image. */
	.org	0xfff0, 0xff
reset:
	ljmp	$0xf000, $_start
	.org	0x10000, 0xff

	/* Not code that needs an executable stack (silences ld). */
	.section .note.GNU-stack, "", @progbits
