/*
 * heap_count.h - heap and file-mapping byte counters of heap_count.c (a
 * test harness piece: linked into pipeline_driver.c with --wrap, never into
 * the library).
 */
#ifndef ASR_HEAP_COUNT_H
#define ASR_HEAP_COUNT_H

#include <stddef.h>

/* Heap bytes held now. */
size_t heap_count_live(void);
/* Most heap bytes held at once since the last reset. */
size_t heap_count_peak(void);
/* Most heap + mapped-file bytes held at once since the last reset. */
size_t heap_count_total_peak(void);
/* Starts both peaks again from what is held now. */
void heap_count_reset_peaks(void);

#endif
