/*
 * Device-independent virtio constants: device status bits, reserved
 * feature bits and device IDs (virtio 1.2 §2.1, §5, §6).
 */
#ifndef KASANE_VIRTIO_VIRTIO_H
#define KASANE_VIRTIO_VIRTIO_H

#include "lib/types.h"

/* Device status field (virtio 1.2 §2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE        1
#define VIRTIO_STATUS_DRIVER             2
#define VIRTIO_STATUS_DRIVER_OK          4
#define VIRTIO_STATUS_FEATURES_OK        8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED             128

/*
 * Reserved feature bits, as bit numbers (virtio 1.2 §6).  The spec calls
 * the first two VIRTIO_F_INDIRECT_DESC and VIRTIO_F_EVENT_IDX.
 */
#define VIRTIO_RING_F_INDIRECT_DESC      28
#define VIRTIO_RING_F_EVENT_IDX          29
#define VIRTIO_F_VERSION_1               32
#define VIRTIO_F_ACCESS_PLATFORM         33
#define VIRTIO_F_RING_PACKED             34
#define VIRTIO_F_IN_ORDER                35
#define VIRTIO_F_ORDER_PLATFORM          36
#define VIRTIO_F_SR_IOV                  37
#define VIRTIO_F_NOTIFICATION_DATA       38
#define VIRTIO_F_NOTIF_CONFIG_DATA       39
#define VIRTIO_F_RING_RESET              40

/* Feature bit number to mask, e.g. VIRTIO_BIT(VIRTIO_F_VERSION_1). */
#define VIRTIO_BIT(n)                    (1ULL << (n))

/* Device IDs (virtio 1.2 §5). */
#define VIRTIO_ID_NET                    1
#define VIRTIO_ID_BLOCK                  2
#define VIRTIO_ID_CONSOLE                3
#define VIRTIO_ID_ENTROPY                4

#endif
