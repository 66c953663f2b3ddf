<?php
session_start();
$_SESSION['color'] = isset($_GET['c']) ? $_GET['c'] : '-';
header('Content-Type: text/plain');
echo "color set\n";
