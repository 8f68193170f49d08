/**
 * Starting definitions for `apkovl init --template`. Each is commented, valid (with the secrets
 * file written beside it) and builds a card as it is; the test suite checks all three.
 */

export interface Template {
  name: string;
  description: string;
  definition: string;
  /** Written to <definition>.secrets.yml when the definition refers to secrets. */
  secrets: string | null;
}

const EXAMPLE_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXA replace-me@example';

export const templates: Template[] = [
  {
    name: 'rpi-kiosk',
    description: 'Raspberry Pi 3/4/5 showing one web page full screen (Chromium in cage), on Ethernet or Wi-Fi',
    definition: `# Apkovl Studio machine definition: a Raspberry Pi that shows one web page full screen.
# Build a card image:
#   apkovl build kiosk.yml --secrets kiosk.secrets.yml \\
#     --boot-media alpine-rpi-3.22.2-aarch64.tar.gz --output kiosk.img
version: 1
hostname: kiosk-hall                    # /etc/hostname, and the apkovl is kiosk-hall.apkovl.tar.gz
target: { board: rpi, arch: aarch64 }   # aarch64: Pi 3, 4, 400 and 5 (a kiosk wants 2 GB RAM or more)
alpine:
  version: 3.22.2                       # the release of the boot media; pins the package mirror
  offline: true                         # every package on the card, verified: boots without network
timezone: Europe/Berlin
keymap: us us                           # console keymap ("layout variant")
network:
  interfaces:
    - { name: eth0, ipv4: dhcp }
    - name: wlan0
      ipv4: dhcp
      wifi:
        country: DE                     # two-letter country code: the Wi-Fi driver needs it
        networks:
          - { ssid: Hall, psk: "\${secret:wifi_hall}" }   # the passphrase is in kiosk.secrets.yml
users:
  - name: admin                         # for maintenance over SSH; doas gives root
    doas: true
    ssh_authorized_keys:
      - "${EXAMPLE_KEY}"   # put your public key here
kiosk:
  url: https://example.org/              # the page to show
  rotate: 0                             # 0, 90, 180 or 270
  hide_cursor: true
persistence:
  apk_cache: true   # the card's apk cache holds Chromium and the rest (alpine.offline fills it at build time)
`,
    secrets: `# Secrets for kiosk.yml: keep this file out of git. Wi-Fi passphrases reach the card only
# as the derived PSK.
wifi_hall: "change this passphrase"
`,
  },
  {
    name: 'rpi-headless',
    description: 'Raspberry Pi without a screen: SSH over Ethernet, time sync, lbu persistence',
    definition: `# Apkovl Studio machine definition: a headless Raspberry Pi reachable over SSH.
# Build a card image:
#   apkovl build headless.yml --boot-media alpine-rpi-3.22.2-aarch64.tar.gz --output headless.img
version: 1
hostname: pi-headless
target: { board: rpi, arch: aarch64 }   # armv7 for a Pi 2, armhf for a Pi 1 or Zero
alpine:
  version: 3.22.2
timezone: UTC
network:
  interfaces:
    - { name: eth0, ipv4: dhcp, ipv6: auto }
users:
  - name: admin
    doas: true
    ssh_authorized_keys:
      - "${EXAMPLE_KEY}"   # put your public key here
ssh:
  enable: true
  permit_root_login: "no"
services:
  default: [chronyd, crond]             # time from the network (a Pi has no clock), cron jobs
run_once:
  - name: welcome
    script: |
      #!/bin/sh
      echo "pi-headless first booted on $(date)" > /etc/motd
persistence:
  lbu: true                             # "lbu commit" saves /etc (and /home/admin) to the card
`,
    secrets: null,
  },
  {
    name: 'x86-server',
    description: 'PC booting a USB stick (BIOS or UEFI): static IPv4, DNS, SSH, an apk cache on the stick',
    definition: `# Apkovl Studio machine definition: a diskless x86_64 server booting from a USB stick.
# Build a stick image (fetches and verifies alpine-standard-3.22.2-x86_64.iso and the release's
# syslinux boot code; the PC boots it with BIOS or with UEFI, Secure Boot off):
#   apkovl build server.yml --output server.img
version: 1
hostname: edge-1
target: { board: x86_64, arch: x86_64 }
alpine:
  version: 3.22.2
  flavor: standard
  packages: [htop, nftables]
timezone: Europe/Berlin
network:
  interfaces:
    - name: eth0
      ipv4: { address: 192.168.10.5/24, gateway: 192.168.10.1 }
  dns: [192.168.10.1, 1.1.1.1]
  search: [example.lan]
users:
  - name: ops
    doas: true
    ssh_authorized_keys:
      - "${EXAMPLE_KEY}"   # put your public key here
services:
  default: [chronyd, crond, nftables]
persistence:
  lbu: true
  apk_cache: true
`,
    secrets: null,
  },
];
